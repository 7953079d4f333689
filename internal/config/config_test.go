package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name       string
		flag       string
		env        string
		file       string
		aml        string
		wantValue  string
		wantSource Source
	}{
		{"flag wins", "f", "e", "c", "a", "f", SourceFlag},
		{"env over file", "", "e", "c", "a", "e", SourceEnv},
		{"file over azureml", "", "", "c", "a", "c", SourceFile},
		{"azureml over default", "", "", "", "a", "a", SourceAzureML},
		{"nothing", "", "", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			cfgDir := filepath.Join(root, "cfg")
			work := filepath.Join(root, "proj", "sub", "deeper")
			if err := os.MkdirAll(work, 0o755); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{EnvConfigDir: cfgDir, "HOME": root}
			if tt.env != "" {
				env["PFZ_RESOURCE_GROUP"] = tt.env
			}
			if tt.file != "" {
				writeFile(t, filepath.Join(cfgDir, "config.yaml"), "resource_group: "+tt.file+"\n")
			}
			if tt.aml != "" {
				writeFile(t, filepath.Join(root, "proj", ".azureml", "config.json"),
					`{"subscription_id":"s","resource_group":"`+tt.aml+`","workspace_name":"w"}`)
			}
			flags := map[string]string{}
			if tt.flag != "" {
				flags[KeyResourceGroup] = tt.flag
			}
			c, err := Load(LoadOptions{Getenv: envOf(env), WorkDir: work, Flags: flags,
				FlagNames: map[string]string{KeyResourceGroup: "--resource-group"}})
			if err != nil {
				t.Fatal(err)
			}
			if c.ResourceGroup != tt.wantValue {
				t.Errorf("ResourceGroup = %q, want %q", c.ResourceGroup, tt.wantValue)
			}
			v, ok := c.Get(KeyResourceGroup)
			if tt.wantSource == "" {
				if ok {
					t.Errorf("unexpected value %+v", v)
				}
				return
			}
			if v.Source != tt.wantSource {
				t.Errorf("source = %q, want %q", v.Source, tt.wantSource)
			}
		})
	}
}

func TestTargetChoice(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		flags map[string]string
		want  string
	}{
		{"no workspace", nil, nil, TargetLocal},
		{"workspace from env", map[string]string{"PFZ_WORKSPACE_NAME": "w"}, nil, TargetAzureML},
		{"workspace from flag", nil, map[string]string{KeySubscription: "s"}, TargetAzureML},
		{"explicit local wins", map[string]string{"PFZ_WORKSPACE_NAME": "w"}, map[string]string{KeyTarget: "local"}, TargetLocal},
		{"explicit azureml", nil, map[string]string{KeyTarget: "AzureML"}, TargetAzureML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{EnvConfigDir: t.TempDir()}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := Load(LoadOptions{Getenv: envOf(env), WorkDir: t.TempDir(), Flags: tt.flags})
			if err != nil {
				t.Fatal(err)
			}
			if c.Target != tt.want {
				t.Errorf("Target = %q, want %q", c.Target, tt.want)
			}
		})
	}
}

func TestCloudEndpointsAndOverrides(t *testing.T) {
	env := map[string]string{EnvConfigDir: t.TempDir(), "PFZ_CLOUD": "azurechinacloud"}
	c, err := Load(LoadOptions{Getenv: envOf(env)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Cloud != CloudChina || c.ARMEndpoint != "https://management.chinacloudapi.cn/" {
		t.Errorf("cloud %q arm %q", c.Cloud, c.ARMEndpoint)
	}
	if got := c.BlobURL("acct"); got != "https://acct.blob.core.chinacloudapi.cn" {
		t.Errorf("BlobURL = %q", got)
	}
	env["PFZ_BLOB_ENDPOINT"] = "http://127.0.0.1:10000/{account}"
	env["PFZ_ARM_ENDPOINT"] = "http://127.0.0.1:8080/"
	c, err = Load(LoadOptions{Getenv: envOf(env)})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.BlobURL("devstoreaccount1"); got != "http://127.0.0.1:10000/devstoreaccount1" {
		t.Errorf("BlobURL = %q", got)
	}
	if v, _ := c.Get(KeyARMEndpoint); v.Source != SourceEnv || v.Origin != "PFZ_ARM_ENDPOINT" {
		t.Errorf("arm source %+v", v)
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		flags map[string]string
		kind  fault.Kind
	}{
		{"bad env target", map[string]string{"PFZ_TARGET": "cloud"}, nil, fault.Validation},
		{"bad flag output", nil, map[string]string{KeyOutput: "xml"}, fault.Usage},
		{"blob without account", map[string]string{"PFZ_BLOB_ENDPOINT": "https://x.blob.core.windows.net"}, nil, fault.Validation},
		{"arm not a url", map[string]string{"PFZ_ARM_ENDPOINT": "management"}, nil, fault.Validation},
		{"bad cloud", map[string]string{"PFZ_CLOUD": "Mars"}, nil, fault.Validation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{EnvConfigDir: t.TempDir()}
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := Load(LoadOptions{Getenv: envOf(env), Flags: tt.flags})
			if err == nil {
				t.Fatal("want an error")
			}
			if fault.KindOf(err) != tt.kind {
				t.Errorf("kind = %v, want %v (%v)", fault.KindOf(err), tt.kind, err)
			}
			if fault.HintOf(err) == "" && tt.kind == fault.Validation {
				t.Errorf("no hint on %v", err)
			}
		})
	}
}

func TestFileWarningsAndErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.yaml"), "subscripton: x\nauth:\n  mode: azcli\n")
	c, err := Load(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: dir})})
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthMode != "azcli" {
		t.Errorf("AuthMode = %q", c.AuthMode)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], `did you mean "subscription"`) {
		t.Errorf("warnings = %q", c.Warnings)
	}
	writeFile(t, filepath.Join(dir, "config.yaml"), "a: [\n")
	if _, err := Load(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: dir})}); fault.KindOf(err) != fault.Validation {
		t.Errorf("broken YAML: %v", err)
	}
	work := t.TempDir()
	writeFile(t, filepath.Join(work, ".azureml", "config.json"), "{")
	if _, err := Load(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: t.TempDir()}), WorkDir: work}); fault.KindOf(err) != fault.Validation {
		t.Errorf("broken config.json: %v", err)
	}
}

func TestSetUnset(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested")
	writeFile(t, filepath.Join(dir, "config.yaml"), "# my settings\ncloud: AzureCloud # the public cloud\n")
	if _, err := Set(dir, "subscription", "0000"); err != nil {
		t.Fatal(err)
	}
	got, err := Set(dir, "cloud", "azureusgovernment")
	if err != nil {
		t.Fatal(err)
	}
	if got != CloudUSGov {
		t.Errorf("canonical = %q", got)
	}
	if _, err := Set(dir, "auth.mode", "azcli"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := "# my settings\ncloud: AzureUSGovernment # the public cloud\nsubscription: \"0000\"\nauth:\n  mode: azcli\n"
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(filepath.Join(dir, "config.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("mode = %v", st.Mode().Perm())
		}
	}
	c, err := Load(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: dir})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subscription != "0000" || c.AuthMode != "azcli" || c.Cloud != CloudUSGov {
		t.Errorf("reloaded %+v", c)
	}
	if err := Unset(dir, "auth.mode"); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(dir, "config.yaml"))
	if strings.Contains(string(data), "auth") {
		t.Errorf("auth still there:\n%s", data)
	}
	if _, err := Set(dir, "subscriptoin", "x"); fault.KindOf(err) != fault.Usage || !strings.Contains(fault.HintOf(err), `"subscription"`) {
		t.Errorf("unknown key: %v / %q", err, fault.HintOf(err))
	}
	if _, err := Set(dir, "target", "nowhere"); fault.KindOf(err) != fault.Usage {
		t.Errorf("bad value: %v", err)
	}
}

func TestRequireWorkspace(t *testing.T) {
	c, err := Load(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: t.TempDir(), "PFZ_SUBSCRIPTION": "s"})})
	if err != nil {
		t.Fatal(err)
	}
	err = c.RequireWorkspace()
	if fault.KindOf(err) != fault.Usage || !strings.Contains(err.Error(), "resource group") || strings.Contains(err.Error(), "subscription (") {
		t.Errorf("RequireWorkspace = %v", err)
	}
}

func TestEveryKeyHasAnEnvName(t *testing.T) {
	for _, k := range Keys() {
		if k.Env != EnvName(k.Name) || !strings.HasPrefix(k.Env, "PFZ_") || strings.Contains(k.Env, ".") {
			t.Errorf("key %s env %s", k.Name, k.Env)
		}
	}
	if EnvName("auth.mode") != "PFZ_AUTH_MODE" {
		t.Error(EnvName("auth.mode"))
	}
}

// Normalizing is idempotent: a canonical value stays what it is, so
// `config set` writes what `config list` shows.
func FuzzNormalize(f *testing.F) {
	for _, k := range Keys() {
		f.Add(k.Name, "x")
	}
	f.Add("cloud", "azurechinacloud")
	f.Add("blob_endpoint", "http://127.0.0.1:10000/{account}")
	f.Add("arm_endpoint", "https://management.azure.com/")
	f.Add("output", " JSON ")
	f.Fuzz(func(t *testing.T, key, value string) {
		canon, err := Normalize(key, value)
		if err != nil {
			return
		}
		again, err := Normalize(key, canon)
		if err != nil || again != canon {
			t.Fatalf("Normalize(%q, %q) = %q, then %q, %v", key, value, canon, again, err)
		}
	})
}

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
	writeFile(t, filepath.Join(dir, "config.yaml"), "subscripton: x\nauth:\n  mode: azure-cli\n")
	c, err := Load(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: dir})})
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthMode != "azure-cli" {
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
	if _, err := Set(dir, "auth.mode", "Azure-CLI"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := "# my settings\ncloud: AzureUSGovernment # the public cloud\nsubscription: \"0000\"\nauth:\n  mode: azure-cli\n"
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
	if c.Subscription != "0000" || c.AuthMode != "azure-cli" || c.Cloud != CloudUSGov {
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

// TestBadFilesSayWhere: a config.yaml or .azureml/config.json that cannot be
// used is an error that names file:line:column and says what to do.
func TestBadFilesSayWhere(t *testing.T) {
	tests := []struct {
		name       string
		configYAML string
		amlJSON    string
		where      string // suffix of the file name plus :line:column in the message
		msg, hint  string
	}{
		{name: "tab in config.yaml", configYAML: "target: local\n\tcloud: x\n", where: "config.yaml:2:1", msg: "cannot parse", hint: "not tabs"},
		{name: "list value", configYAML: "target: [local]\n", where: "config.yaml:1:9", msg: "must be a single value, not a list", hint: "pfz config set target"},
		{name: "mapping value", configYAML: "workspace_name: {a: 1}\n", where: "config.yaml:1:17", msg: "must be a single value", hint: "workspace_name: <value>"},
		{name: "invalid value in the file", configYAML: "output: json\ntarget: cloud\n", where: "config.yaml:2:9", msg: "target must be local or azureml", hint: "target takes: local or azureml"},
		{name: "nested invalid value", configYAML: "auth:\n  mode: bogus\n", where: "config.yaml:2:9", msg: "auth.mode must be", hint: "pfz config set auth.mode"},
		{name: "key given twice", configYAML: "target: local\nTarget: azureml\n", where: "config.yaml:2:1", msg: "given twice", hint: "remove one"},
		{name: "not a mapping", configYAML: "- target\n", where: "config.yaml:1:1", msg: "must be a mapping", hint: "key: value"},
		{name: "broken JSON", amlJSON: "{\n  \"subscription_id\": \"s\",\n  bad\n}\n", where: "config.json:3:3", msg: "cannot parse", hint: "JSON object"},
		{name: "JSON list", amlJSON: "\n[1, 2]\n", where: "config.json:2:1", msg: "must be a JSON object, not a list", hint: "subscription_id"},
		{name: "number where a string goes", amlJSON: "{\"subscription_id\": 5, \"workspace_name\": \"w\"}", where: "config.json:1:2", msg: "subscription_id must be a string, not a number", hint: "quotes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, work := t.TempDir(), t.TempDir()
			if tt.configYAML != "" {
				writeFile(t, filepath.Join(cfg, "config.yaml"), tt.configYAML)
			}
			if tt.amlJSON != "" {
				writeFile(t, filepath.Join(work, ".azureml", "config.json"), tt.amlJSON)
			}
			_, err := Load(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: cfg}), WorkDir: work})
			if fault.KindOf(err) != fault.Validation {
				t.Fatalf("want a validation error, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.where) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want it to contain %q and %q", err, tt.where, tt.msg)
			}
			if !strings.Contains(fault.HintOf(err), tt.hint) {
				t.Errorf("hint %q, want it to contain %q", fault.HintOf(err), tt.hint)
			}
			if strings.Contains(err.Error(), "struct {") || strings.Contains(err.Error(), "yaml: ") {
				t.Errorf("error leaks parser internals: %q", err)
			}
		})
	}
}

func TestFileKeysAreCaseInsensitiveAndWarned(t *testing.T) {
	cfg := t.TempDir()
	writeFile(t, filepath.Join(cfg, "config.yaml"), "Workspace_Name: w\nAUTH:\n  Mode: azd\nworkspace: x\nfoo: 1\nempty:\n")
	c, err := Load(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: cfg})})
	if err != nil {
		t.Fatal(err)
	}
	if c.WorkspaceName != "w" || c.AuthMode != "azd" {
		t.Errorf("workspace %q auth %q", c.WorkspaceName, c.AuthMode)
	}
	want := []string{`config.yaml:4:1: unknown key "workspace" is ignored (did you mean "workspace_name"?)`, `config.yaml:5:1: unknown key "foo" is ignored`, `config.yaml:6:1: unknown key "empty" is ignored`}
	if len(c.Warnings) != len(want) {
		t.Fatalf("warnings %q", c.Warnings)
	}
	for _, w := range want {
		found := false
		for _, got := range c.Warnings {
			found = found || strings.HasSuffix(got, w)
		}
		if !found {
			t.Errorf("no warning ending in %q: %q", w, c.Warnings)
		}
	}
}

func TestNearest(t *testing.T) {
	tests := map[string]string{
		"subscripton": "subscription", "taget": "target", "workspace": "workspace_name", "OUTPTU": "output",
		"foo": "", "nope": "", "x": "", "auth": "auth.mode",
	}
	for typed, want := range tests {
		if got := Nearest(typed); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", typed, got, want)
		}
	}
}

func TestSetRejectsWithAHint(t *testing.T) {
	tests := []struct{ key, value, msg, hint string }{
		{"auth.mode", "bogus", "auth.mode must be default, environment", "credential:"},
		{"auth.mode", "azure-clj", `did you mean "azure-cli"?`, "credential:"},
		{"python", " ", "cannot be empty", "Python interpreter"},
		{"target", "cloud", "target must be local or azureml", "target takes: local or azureml"},
		{"output", "xml", "output must be table, json or yaml", "output takes"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Set(dir, tt.key, tt.value)
			if fault.KindOf(err) != fault.Usage || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(fault.HintOf(err), tt.hint) {
				t.Errorf("Set(%s, %q) = %v / hint %q, want %q / %q", tt.key, tt.value, err, fault.HintOf(err), tt.msg, tt.hint)
			}
			if _, statErr := os.Stat(filepath.Join(dir, "config.yaml")); statErr == nil {
				t.Error("a rejected value must not be written")
			}
		})
	}
}

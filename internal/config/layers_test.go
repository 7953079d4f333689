package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
)

// layerValues gives, for each key, a valid value per layer (flag, env, file,
// .azureml/config.json) and its canonical form; "" means the layer cannot
// set the key.
var layerValues = map[string][4][2]string{
	KeySubscription:    {{"sub-flag", "sub-flag"}, {"sub-env", "sub-env"}, {"0001", "0001"}, {"sub-aml", "sub-aml"}},
	KeyResourceGroup:   {{"rg-flag", "rg-flag"}, {"rg-env", "rg-env"}, {"rg-file", "rg-file"}, {"rg-aml", "rg-aml"}},
	KeyWorkspaceName:   {{"ws-flag", "ws-flag"}, {"ws-env", "ws-env"}, {"ws-file", "ws-file"}, {"ws-aml", "ws-aml"}},
	KeyTarget:          {{"LOCAL", "local"}, {"azureml", "azureml"}, {"Local", "local"}, {}},
	KeyCloud:           {{}, {"azurechinacloud", CloudChina}, {"AzureUSGovernment", CloudUSGov}, {}},
	KeyARMEndpoint:     {{}, {"https://arm-env.example/", "https://arm-env.example/"}, {"https://arm-file.example/", "https://arm-file.example/"}, {}},
	KeyServiceEndpoint: {{}, {"https://svc-env.example/", "https://svc-env.example/"}, {"http://127.0.0.1:1/svc", "http://127.0.0.1:1/svc"}, {}},
	KeyBlobEndpoint:    {{}, {"http://127.0.0.1:10000/{account}", "http://127.0.0.1:10000/{account}"}, {"https://{account}.blob.file.example", "https://{account}.blob.file.example"}, {}},
	KeyFileEndpoint:    {{}, {"http://127.0.0.1:10000/files/{account}", "http://127.0.0.1:10000/files/{account}"}, {"https://{account}.file.file.example", "https://{account}.file.file.example"}, {}},
	KeyAuthMode:        {{}, {"Azure-CLI", "azure-cli"}, {"azd", "azd"}, {}},
	KeyHome:            {{}, {"/h/env", "/h/env"}, {"/h/file", "/h/file"}, {}},
	KeyPython:          {{}, {"py-env", "py-env"}, {"py-file", "py-file"}, {}},
	KeyOutput:          {{"JSON", "json"}, {"yaml", "yaml"}, {"table", "table"}, {}},
	KeyPollInterval:    {{}, {"2000ms", "2s"}, {"3s", "3s"}, {}},
	KeyConnectTimeout:  {{}, {"1500ms", "1.5s"}, {"4s", "4s"}, {}},
	KeyAnswerTimeout:   {{}, {"90s", "1m30s"}, {"2m", "2m0s"}, {}},
	KeyMaxRetryWait:    {{}, {"30000ms", "30s"}, {"5s", "5s"}, {}},
}

// TestPrecedenceMatrix sets each key in every combination of the layers that
// can set it and checks that the value viper resolves and the source pfz
// reports are those of the highest layer: flag > env > file >
// .azureml/config.json > default.
func TestPrecedenceMatrix(t *testing.T) {
	sources := [4]Source{SourceFlag, SourceEnv, SourceFile, SourceAzureML}
	for _, k := range Keys() {
		vals, ok := layerValues[k.Name]
		if !ok {
			t.Errorf("no matrix values for key %s", k.Name)
			continue
		}
		for mask := 0; mask < 16; mask++ {
			skip := false
			for i := range 4 {
				if mask&(1<<i) != 0 && vals[i][0] == "" {
					skip = true
				}
			}
			if skip {
				continue
			}
			root := t.TempDir()
			cfgDir, work := filepath.Join(root, "cfg"), filepath.Join(root, "proj", "sub")
			if err := os.MkdirAll(work, 0o755); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{EnvConfigDir: cfgDir, "HOME": root}
			flags, names := map[string]string{}, map[string]string{}
			if mask&1 != 0 {
				flags[k.Name], names[k.Name] = vals[0][0], "--my-flag"
			}
			if mask&2 != 0 {
				env[k.Env] = vals[1][0]
			}
			if mask&4 != 0 {
				text := k.Name + ": " + vals[2][0] + "\n"
				if k.Name == KeyAuthMode {
					text = "auth:\n  mode: " + vals[2][0] + "\n"
				}
				writeFile(t, filepath.Join(cfgDir, "config.yaml"), text)
			}
			if mask&8 != 0 {
				jsonKey := map[string]string{KeySubscription: "subscription_id", KeyResourceGroup: "resource_group", KeyWorkspaceName: "workspace_name"}[k.Name]
				writeFile(t, filepath.Join(root, "proj", ".azureml", "config.json"), `{"`+jsonKey+`": "`+vals[3][0]+`"}`)
			}
			c, err := Load(LoadOptions{Getenv: envOf(env), WorkDir: work, Flags: flags, FlagNames: names})
			if err != nil {
				t.Fatalf("%s mask %04b: %v", k.Name, mask, err)
			}
			var got Value
			for _, v := range c.Values() {
				if v.Key == k.Name {
					got = v
				}
			}
			want := Value{Key: k.Name, Source: SourceDefault}
			for i := range 4 {
				if mask&(1<<i) != 0 {
					want.Value, want.Source = vals[i][1], sources[i]
					break
				}
			}
			origin := map[Source]string{SourceFlag: "--my-flag", SourceEnv: k.Env, SourceFile: filepath.Join(cfgDir, "config.yaml"),
				SourceAzureML: filepath.Join(root, "proj", ".azureml", "config.json")}[want.Source]
			if got.Source != want.Source || (want.Source != SourceDefault && (got.Value != want.Value || got.Origin != origin)) {
				t.Errorf("%s with layers %04b (flag,env,file,aml from the right): got %+v, want value %q from %s (%s)",
					k.Name, mask, got, want.Value, want.Source, origin)
			}
		}
	}
}

// TestProcessEnvironmentIsNotRead: Getenv is the only environment; a PFZ_*
// variable of the process does not reach viper.
func TestProcessEnvironmentIsNotRead(t *testing.T) {
	t.Setenv("PFZ_TARGET", "azureml")
	t.Setenv("PFZ_AUTH_MODE", "azd")
	c, err := Load(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: t.TempDir()})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Target != TargetLocal || c.AuthMode != "default" {
		t.Errorf("target %q auth %q: the process environment leaked in", c.Target, c.AuthMode)
	}
}

// TestFileValuesKeepTheirText: viper's own YAML decoding would turn 0001 into
// 1 and 1e3 into 1000; the value is the text written.
func TestFileValuesKeepTheirText(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.yaml"), "subscription: 0001\nworkspace_name: 1e3\nresource_group: true\nauth.mode: azd\n")
	c, err := Load(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: dir})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subscription != "0001" || c.WorkspaceName != "1e3" || c.ResourceGroup != "true" || c.AuthMode != "azd" {
		t.Errorf("got %q %q %q %q", c.Subscription, c.WorkspaceName, c.ResourceGroup, c.AuthMode)
	}
}

// TestAliasesAreNotExpanded: a file of nested aliases (a billion laughs) is
// read without expanding them; an alias where a value goes is one problem.
func TestAliasesAreNotExpanded(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("target: *a8\noutput: json\n")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.yaml"), b.String())
	c := Resolve(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: dir})})
	if err := c.Check(KeyTarget); fault.KindOf(err) != fault.Validation || !strings.Contains(err.Error(), "must be a single value, not a list") {
		t.Errorf("target: %v", err)
	}
	if c.Check(KeyOutput) != nil || c.Output != OutputJSON {
		t.Errorf("output %q: %v", c.Output, c.Check(KeyOutput))
	}
}

func TestProblemsStayWithTheirKeys(t *testing.T) {
	aml := func(t *testing.T, work, text string) {
		writeFile(t, filepath.Join(filepath.Dir(work), ".azureml", "config.json"), text)
	}
	tests := []struct {
		name    string
		env     map[string]string
		flags   map[string]string
		file    string
		aml     string
		ok      []string // keys Check accepts
		bad     []string // keys Check refuses
		msg     string   // in the error of the first bad key
		hint    string   // in its hint
		problem int      // len(Problems())
	}{
		{name: "bad PFZ_CLOUD", env: map[string]string{"PFZ_CLOUD": "x"},
			ok: []string{KeyOutput, KeyTarget, KeyHome, KeyPython, KeyServiceEndpoint}, bad: []string{KeyCloud, KeyARMEndpoint, KeyBlobEndpoint},
			msg: `invalid PFZ_CLOUD: cloud must be AzureCloud, AzureChinaCloud or AzureUSGovernment, got "x"`, hint: "unset the environment variable PFZ_CLOUD", problem: 1},
		{name: "bad PFZ_CLOUD, endpoints overridden", env: map[string]string{"PFZ_CLOUD": "x", "PFZ_ARM_ENDPOINT": "http://127.0.0.1:1/", "PFZ_BLOB_ENDPOINT": "http://127.0.0.1:2/{account}"},
			ok: []string{KeyARMEndpoint, KeyBlobEndpoint}, bad: []string{KeyCloud}, msg: "invalid PFZ_CLOUD", problem: 1},
		{name: "broken config.json, no workspace elsewhere", aml: "{\n  bad\n}\n",
			ok: []string{KeyOutput, KeyCloud, KeyHome}, bad: []string{KeyTarget, KeySubscription, KeyWorkspaceName},
			msg: "cannot choose the target, which follows the workspace settings: cannot parse", hint: "--target local", problem: 1},
		{name: "broken config.json, --target local", aml: "{\n  bad\n}\n", flags: map[string]string{KeyTarget: "local"},
			ok: []string{KeyTarget, KeyOutput}, bad: []string{KeyResourceGroup}, msg: "config.json:2:3", hint: "JSON object", problem: 1},
		{name: "broken config.json, workspace from env", aml: "[]", env: map[string]string{"PFZ_WORKSPACE_NAME": "w"},
			ok: []string{KeyTarget, KeyWorkspaceName}, bad: []string{KeySubscription}, msg: "must be a JSON object", problem: 1},
		{name: "config.json number in one key", aml: `{"subscription_id": 5, "resource_group": "g", "workspace_name": "w"}`,
			ok: []string{KeyTarget, KeyResourceGroup, KeyWorkspaceName}, bad: []string{KeySubscription}, msg: "subscription_id must be a string", problem: 1},
		{name: "unparsable config.yaml", file: "a: [\n", env: map[string]string{"PFZ_OUTPUT": "json"},
			ok: []string{KeyOutput}, bad: []string{KeyCloud, KeyTarget}, msg: "cannot parse", hint: "delete the file", problem: 1},
		{name: "bad value shadowed by the environment", file: "target: [x]\ncloud: Mars\n", env: map[string]string{"PFZ_TARGET": "local", "PFZ_CLOUD": "AzureCloud"},
			ok: []string{KeyTarget, KeyCloud}, problem: 0},
		{name: "flag problems come first", env: map[string]string{"PFZ_CLOUD": "x"}, flags: map[string]string{KeyOutput: "xml"},
			ok: []string{KeyTarget}, bad: []string{KeyCloud, KeyOutput}, msg: "invalid -o/--output", problem: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, work := t.TempDir(), filepath.Join(t.TempDir(), "proj")
			if err := os.MkdirAll(work, 0o755); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{EnvConfigDir: cfg}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.file != "" {
				writeFile(t, filepath.Join(cfg, "config.yaml"), tt.file)
			}
			if tt.aml != "" {
				aml(t, work, tt.aml)
			}
			c := Resolve(LoadOptions{Getenv: envOf(env), WorkDir: work, Flags: tt.flags})
			for _, k := range tt.ok {
				if err := c.Check(k); err != nil {
					t.Errorf("Check(%s) = %v, want nil", k, err)
				}
			}
			for _, k := range tt.bad {
				if err := c.Check(k); err == nil || fault.HintOf(err) == "" {
					t.Errorf("Check(%s) = %v, want an error with a hint", k, err)
				}
			}
			if len(tt.bad) > 0 {
				err := c.Check(tt.bad...)
				if !strings.Contains(err.Error(), tt.msg) || !strings.Contains(fault.HintOf(err), tt.hint) {
					t.Errorf("Check(%v) = %q / hint %q, want %q / %q", tt.bad, err, fault.HintOf(err), tt.msg, tt.hint)
				}
				if _, err := Load(LoadOptions{Getenv: envOf(env), WorkDir: work, Flags: tt.flags}); err == nil {
					t.Error("Load accepted what Check refuses")
				}
			}
			if got := len(c.Problems()); got != tt.problem {
				t.Errorf("%d problems, want %d: %v", got, tt.problem, c.Problems())
			}
			if len(tt.bad) == 0 && c.Check() != nil {
				t.Errorf("Check() = %v", c.Check())
			}
		})
	}
}

// TestProblemsAreShown: a value that cannot be used is shown as written,
// where it came from and why it cannot be used; the typed field keeps the
// default.
func TestProblemsAreShown(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.yaml"), "output: json\ntarget: [local]\n")
	c := Resolve(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: dir, "PFZ_CLOUD": "Mars"})})
	if c.Cloud != CloudPublic || c.Output != OutputJSON {
		t.Errorf("cloud %q output %q", c.Cloud, c.Output)
	}
	got := map[string]Value{}
	for _, v := range c.Values() {
		got[v.Key] = v
	}
	if v := got[KeyCloud]; v.Value != "Mars" || v.Source != SourceEnv || v.Origin != "PFZ_CLOUD" || !strings.Contains(v.Problem, "cloud must be") {
		t.Errorf("cloud shown as %+v", v)
	}
	if v := got[KeyTarget]; v.Source != SourceFile || !strings.Contains(v.Problem, "config.yaml:2:9: target must be a single value") {
		t.Errorf("target shown as %+v", v)
	}
	if v := got[KeyOutput]; v.Problem != "" || v.Value != OutputJSON {
		t.Errorf("output shown as %+v", v)
	}
	if v := got[KeyARMEndpoint]; v.Source != SourceDefault || !strings.Contains(v.Problem, "invalid PFZ_CLOUD") {
		t.Errorf("arm_endpoint, which follows the cloud, shown as %+v", v)
	}
	ps := c.Problems()
	if len(ps) != 2 || strings.Join(ps[0].Keys, ",") != "target" || strings.Join(ps[1].Keys, ",") != "cloud,arm_endpoint,blob_endpoint,file_endpoint" {
		t.Errorf("problems %+v", ps)
	}
	// Without a usable workspace setting, the target follows the broken
	// .azureml/config.json.
	work := t.TempDir()
	writeFile(t, filepath.Join(work, ".azureml", "config.json"), "{")
	c = Resolve(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: t.TempDir()}), WorkDir: work})
	if ps := c.Problems(); len(ps) != 1 || strings.Join(ps[0].Keys, ",") != "subscription,resource_group,workspace_name,target" {
		t.Errorf("problems %+v", ps)
	}
	if v, _ := c.Get(KeyTarget); v.Value != TargetLocal || !strings.Contains(v.Problem, "cannot choose the target") {
		t.Errorf("target shown as %+v", v)
	}
}

func TestSetFindsTheKeyAsWritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, "Target: local # mine\nauth.mode: azd\nAUTH:\n  x: 1\n")
	if _, err := Set(dir, KeyTarget, "azureml"); err != nil {
		t.Fatal(err)
	}
	if _, err := Set(dir, KeyAuthMode, "azure-cli"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if want := "Target: azureml # mine\nauth.mode: azure-cli\nAUTH:\n  x: 1\n"; string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
	if err := Unset(dir, KeyAuthMode); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	if strings.Contains(string(data), "mode") {
		t.Errorf("auth.mode still there:\n%s", data)
	}

	// A key already given twice is not made worse: the file is left alone
	// and the message says where.
	writeFile(t, path, "target: local\ntarget: azureml\n")
	_, err := Set(dir, KeyTarget, "local")
	if fault.KindOf(err) != fault.Validation || !strings.Contains(err.Error(), "config.yaml:2:1: target is given twice") {
		t.Errorf("Set on a duplicate key: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "target: local\ntarget: azureml\n" {
		t.Errorf("file changed:\n%s", data)
	}
	// Unset removes every occurrence, which also mends the file.
	writeFile(t, path, "target: local\nTarget: azureml\nauth:\n  mode: azd\n  MODE: azd\nAuth:\n  mode: x\noutput: json\n")
	if err := Unset(dir, KeyTarget); err != nil {
		t.Fatal(err)
	}
	if err := Unset(dir, KeyAuthMode); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "output: json\n" {
		t.Errorf("after unset:\n%s", data)
	}
}

// FuzzFileLayer: whatever config.yaml holds, reading it does not panic, and
// every value the diagnostics accept is the value viper resolves from the
// same bytes, so --sources and the effective value cannot disagree.
func FuzzFileLayer(f *testing.F) {
	for _, s := range []string{
		"target: local\n", "auth:\n  mode: azd\n", "auth.mode: azd\nauth:\n  mode: x\n", "Target: a\ntarget: b\n",
		"subscription: 0001\n", "a: &a {b: *a}\ntarget: *a\n", "cloud: [x]\n", "- x\n", "{", "output: ~\noutput: json\n",
		"AUTH: {MODE: azd}\n", "home: &h /x\npython: *h\n", "<<: {target: local}\n", "\"auth.mode\": azd\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, _ := fileLayer("config.yaml", data)
		if file.broken != nil {
			return
		}
		none := func(s Source) *layer { return &layer{source: s, entries: map[string]entry{}} }
		v, err := newViper(none(SourceFlag), none(SourceEnv), file, nil, data)
		if err != nil {
			t.Fatalf("diagnostics accepted what viper refused: %v", err)
		}
		for key, e := range file.entries {
			if e.bad != nil {
				continue
			}
			if got := v.GetString(key); got != e.raw {
				t.Fatalf("%s: diagnostics read %q, viper %q", key, e.raw, got)
			}
		}
	})
}

// BenchmarkResolve measures one invocation's configuration: a config.yaml,
// an .azureml/config.json two folders up, variables and a flag.
func BenchmarkResolve(b *testing.B) {
	root := b.TempDir()
	cfg, work := filepath.Join(root, "cfg"), filepath.Join(root, "proj", "a", "b")
	for _, d := range []string{cfg, work, filepath.Join(root, "proj", ".azureml")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(cfg, "config.yaml"), []byte("# mine\ncloud: AzureCloud\nauth:\n  mode: azure-cli\noutput: json\nhome: /tmp/h\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "proj", ".azureml", "config.json"), []byte(`{"subscription_id": "s", "resource_group": "g", "workspace_name": "w"}`), 0o600); err != nil {
		b.Fatal(err)
	}
	env := envOf(map[string]string{EnvConfigDir: cfg, "PFZ_POLL_INTERVAL": "1s", "PFZ_BLOB_ENDPOINT": "http://127.0.0.1:10000/{account}"})
	opts := LoadOptions{Getenv: env, WorkDir: work, Flags: map[string]string{KeyTarget: "azureml"}}
	b.ReportAllocs()
	for b.Loop() {
		if c := Resolve(opts); c.Check() != nil {
			b.Fatal(c.Check())
		}
	}
}

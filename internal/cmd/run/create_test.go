package run

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/runspec"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// parseCreate runs `run create ARGS` through the same argument handling as
// pfz (nargs expansion, prefix matching) and returns the options it built.
func parseCreate(t *testing.T, args ...string) (*CreateOptions, error) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	f := cmdutil.New(cmdutil.FactoryOptions{IO: ios})
	var got *CreateOptions
	create := NewCmdCreate(f, func(_ context.Context, o *CreateOptions) error { got = o; return nil })
	cmdutil.AllowFlagPrefixes(create)
	root := &cobra.Command{Use: "pfz", SilenceErrors: true, SilenceUsage: true}
	group := &cobra.Command{Use: "run"}
	group.AddCommand(create)
	root.AddCommand(group)
	cmdutil.EnableFlagPrefixes(root)
	root.SetArgs(cmdutil.ExpandNargs(root, append([]string{"run", "create"}, args...)))
	err := root.Execute()
	return got, err
}

func TestNewCmdCreate(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		flags  runspec.Flags
		check  func(*testing.T, *CreateOptions)
		hasErr bool
	}{
		{
			name:  "file with nargs lists",
			args:  []string{"-f", "run.yml", "--column-mapping", "a=${data.a}", "b=1", "--connections", "n.connection=c", "n.deployment_name=d", "--set", "x=1"},
			flags: runspec.Flags{File: "run.yml", ColumnMapping: []string{"a=${data.a}", "b=1"}, Connections: []string{"n.connection=c", "n.deployment_name=d"}, Set: []string{"x=1"}},
		},
		{
			name:  "bare environment variables load the nearest .env",
			args:  []string{"--flow", ".", "--data", "d.jsonl", "--environment-variables", "-s"},
			flags: runspec.Flags{Flow: ".", Data: "d.jsonl", EnvironmentVariablesGiven: true},
			check: func(t *testing.T, o *CreateOptions) {
				if !o.Stream || o.StreamTimeout != 600*time.Second {
					t.Errorf("stream %v timeout %v", o.Stream, o.StreamTimeout)
				}
			},
		},
		{
			name:  "--env alias with files and pairs",
			args:  []string{"--flow", "f", "--env", "A=1", "prod.env", "--init", "k=v"},
			flags: runspec.Flags{Flow: "f", EnvironmentVariables: []string{"A=1", "prod.env"}, EnvironmentVariablesGiven: true, Init: []string{"k=v"}},
		},
		{
			name: "pfz settings and hidden pfazure flags",
			args: []string{"--resume-from", "r", "-n", "r2", "--vm-size", "Standard_E4ds_v4", "--identity", "managed", "--idle-time", "2h",
				"--runtime", "my-rt", "--reset-runtime", "--line-timeout", "90", "--dry-run", "--display-name", "d", "--tags", "a=b"},
			flags: runspec.Flags{ResumeFrom: "r", Name: "r2", InstanceType: "Standard_E4ds_v4", Identity: "managed", IdleTime: "2h",
				Runtime: "my-rt", DisplayName: "d", Tags: []string{"a=b"}},
			check: func(t *testing.T, o *CreateOptions) {
				if !o.ResetRuntime || !o.DryRun || o.LineTimeout != 90*time.Second {
					t.Errorf("options %+v", o)
				}
			},
		},
		{name: "timeout needs stream", args: []string{"-f", "x", "--timeout", "10"}, hasErr: true},
		{name: "bad line timeout", args: []string{"-f", "x", "--line-timeout", "soon"}, hasErr: true},
		{name: "no positional arguments", args: []string{"-f", "x", "stray"}, hasErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseCreate(t, tt.args...)
			if tt.hasErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.flags, o.Flags); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestParseUpdate(t *testing.T) {
	upd, err := parseUpdate([]string{"display_name=x", "tags.a=1", "tags.b=2", "description="})
	if err != nil {
		t.Fatal(err)
	}
	if *upd.DisplayName != "x" || *upd.Description != "" || upd.Tags["a"] != "1" || upd.Tags["b"] != "2" || upd.Archived != nil {
		t.Errorf("%+v", upd)
	}
	for _, bad := range [][]string{nil, {"tags.=x"}, {"name=x"}, {"display_name=a", "display_name=b"}, {"novalue"}} {
		if _, err := parseUpdate(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// TestDryRunShowsNoSecrets: the printed submission masks secrets found by
// name and by value, in every place a user can put one.
func TestDryRunShowsNoSecrets(t *testing.T) {
	sub := &workspace.Submission{
		Name: "r",
		EnvironmentVariables: map[string]string{
			"OPENAI_API_KEY": "sk-live", "ENDPOINT": "https://u:hunter2@x.openai.azure.com/?sig=SIGSECRET",
			"DB": "Server=x;Password=hunter2;", "CONN": "${aoai.api_key}",
		},
		Connections:   map[string]map[string]string{"llm": {"api_key": "k3y", "connection": "aoai"}},
		Init:          map[string]any{"model_config": map[string]any{"api_key": "k3y", "azure_endpoint": "https://e"}},
		ColumnMapping: map[string]any{"question": "${data.q}", "api_key": "k3y"},
		Data:          &workspace.Data{Remote: "https://a.blob.core.windows.net/c/d.jsonl?sv=1&sig=SIGSECRET"},
	}
	for _, format := range []string{"table", "json", "yaml"} {
		ios, _, out, _ := iostreams.Test()
		p, err := cmdutil.NewPrinter(ios, format, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := printSubmission(p, sub, workspace.TargetAzureML); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"sk-live", "hunter2", "SIGSECRET", "k3y"} {
			if strings.Contains(out.String(), secret) {
				t.Errorf("%s output shows %q:\n%s", format, secret, out)
			}
		}
		for _, kept := range []string{"${aoai.api_key}", "${data.q}", "https://e", "aoai"} {
			if !strings.Contains(out.String(), kept) {
				t.Errorf("%s output lost %q:\n%s", format, kept, out)
			}
		}
	}
	if sub.EnvironmentVariables["OPENAI_API_KEY"] != "sk-live" || sub.Data.Remote == "" || !strings.Contains(sub.Data.Remote, "SIGSECRET") {
		t.Error("printing must not change the submission itself")
	}
}

// The local dry run's table leaves out what only Azure ML uses; the azureml
// one and the JSON document keep it.
func TestDryRunTableShowsTheTargetsFields(t *testing.T) {
	sub := &workspace.Submission{
		Name:      "r",
		Snapshot:  &workspace.Snapshot{Hash: "h", BlobPath: "LocalUpload/h/f/flow.dag.yaml"},
		Data:      &workspace.Data{Local: "/d/data.jsonl", BlobPath: "LocalUpload/x/data.jsonl"},
		Identity:  workspace.Identity{Type: "user_identity"},
		Session:   workspace.SessionSpec{ID: "s", ComputeType: workspace.ComputeServerless},
		Resources: workspace.Resources{InstanceType: "Standard_D4s_v3"},
	}
	azureOnly := []string{"blob path", "data blob path", "compute type", "identity"}
	for _, tc := range []struct {
		target, format string
		shown          bool
	}{
		{workspace.TargetLocal, "table", false},
		{workspace.TargetAzureML, "table", true},
		{workspace.TargetLocal, "json", true},
	} {
		ios, _, out, _ := iostreams.Test()
		p, err := cmdutil.NewPrinter(ios, tc.format, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := printSubmission(p, sub, tc.target); err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(out.String(), "_", " ")
		for _, f := range azureOnly {
			if tc.format == "json" && f == "data blob path" {
				continue // the document's key is data.blob_path
			}
			if strings.Contains(text, f) != tc.shown {
				t.Errorf("%s %s: %q shown = %v, want %v:\n%s", tc.target, tc.format, f, !tc.shown, tc.shown, out)
			}
		}
		if !strings.Contains(out.String(), "Standard_D4s_v3") {
			t.Errorf("%s %s: the VM size the run asked for is missing (it sizes the local session too)", tc.target, tc.format)
		}
	}
}

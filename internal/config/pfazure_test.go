package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
)

// TestPfazureWorkspaceSources covers the workspace sources pfz reads as
// pfazure does: the Azure CLI's defaults and AZUREML_ARM_*, below pfz's own
// flags, variables and file and above .azureml/config.json.
func TestPfazureWorkspaceSources(t *testing.T) {
	const azConfig = "[cloud]\nname = AzureCloud\n\n[defaults]\ngroup = cli-rg\nworkspace = cli-ws\nlocation = westus\n"
	const azClouds = "[AzureCloud]\nsubscription = cli-sub\n"
	amlEnv := map[string]string{EnvAzureMLSubscription: "env-sub", EnvAzureMLResourceGroup: "env-rg", EnvAzureMLWorkspace: "env-ws"}
	tests := []struct {
		name       string
		azConfig   string
		azClouds   string
		env        map[string]string
		amlJSON    bool
		want       [3]string // subscription, resource group, workspace
		wantSource Source    // of the resource group
		wantTarget string
	}{
		{name: "AZUREML_ARM_* alone", env: amlEnv, want: [3]string{"env-sub", "env-rg", "env-ws"}, wantSource: SourceAzureMLEnv, wantTarget: TargetAzureML},
		{name: "az defaults complete", azConfig: azConfig, azClouds: azClouds, want: [3]string{"cli-sub", "cli-rg", "cli-ws"}, wantSource: SourceAzureCLI, wantTarget: TargetAzureML},
		{name: "az defaults over AZUREML_ARM_*", azConfig: azConfig, azClouds: azClouds, env: amlEnv, want: [3]string{"cli-sub", "cli-rg", "cli-ws"}, wantSource: SourceAzureCLI, wantTarget: TargetAzureML},
		// A source that names a whole workspace is taken whole: the ambient
		// subscription of `az account set` is not stitched to another
		// source's group and workspace.
		{name: "AZUREML_ARM_* whole over the az subscription", azClouds: azClouds, env: amlEnv, want: [3]string{"env-sub", "env-rg", "env-ws"}, wantSource: SourceAzureMLEnv, wantTarget: TargetAzureML},
		{name: ".azureml/config.json whole over the az subscription", azClouds: azClouds, amlJSON: true, want: [3]string{"j-sub", "j-rg", "j-ws"}, wantSource: SourceAzureML, wantTarget: TargetAzureML},
		{name: "partial sources fill key by key", azClouds: azClouds, env: map[string]string{EnvAzureMLResourceGroup: "env-rg", EnvAzureMLWorkspace: "env-ws"}, want: [3]string{"cli-sub", "env-rg", "env-ws"}, wantSource: SourceAzureMLEnv, wantTarget: TargetAzureML},
		{name: "PFZ_* with the rest from one source", env: map[string]string{"PFZ_SUBSCRIPTION": "pfz-sub"}, amlJSON: true, azClouds: azClouds, want: [3]string{"pfz-sub", "j-rg", "j-ws"}, wantSource: SourceAzureML, wantTarget: TargetAzureML},
		{name: "AZUREML_ARM_* over .azureml/config.json", env: amlEnv, amlJSON: true, want: [3]string{"env-sub", "env-rg", "env-ws"}, wantSource: SourceAzureMLEnv, wantTarget: TargetAzureML},
		{name: "PFZ_* over everything", azConfig: azConfig, env: map[string]string{"PFZ_RESOURCE_GROUP": "pfz-rg", EnvAzureMLResourceGroup: "env-rg"}, azClouds: azClouds, want: [3]string{"cli-sub", "pfz-rg", "cli-ws"}, wantSource: SourceEnv, wantTarget: TargetAzureML},
		// `az account set` alone is on nearly every machine with the Azure
		// CLI: it must not move pfz off the local target.
		{name: "az subscription alone stays local", azClouds: azClouds, want: [3]string{"cli-sub", "", ""}, wantTarget: TargetLocal},
		{name: "az group default alone stays local", azConfig: "[defaults]\ngroup = cli-rg\n", azClouds: azClouds, want: [3]string{"cli-sub", "cli-rg", ""}, wantSource: SourceAzureCLI, wantTarget: TargetLocal},
		{name: "unparsable az config is ignored", azConfig: "[defaults\ngroup = x\n", want: [3]string{"", "", ""}, wantTarget: TargetLocal},
		{name: "another cloud's section", azConfig: "[cloud]\nname = AzureChinaCloud\n", azClouds: azClouds + "[AzureChinaCloud]\nsubscription = cn-sub\n", want: [3]string{"cn-sub", "", ""}, wantTarget: TargetLocal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			env := map[string]string{EnvConfigDir: filepath.Join(root, "cfg"), "HOME": root}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.azConfig != "" {
				writeFile(t, filepath.Join(root, ".azure", "config"), tt.azConfig)
			}
			if tt.azClouds != "" {
				writeFile(t, filepath.Join(root, ".azure", "clouds.config"), tt.azClouds)
			}
			work := filepath.Join(root, "proj")
			writeFile(t, filepath.Join(work, "x"), "")
			if tt.amlJSON {
				writeFile(t, filepath.Join(work, ".azureml", "config.json"), `{"subscription_id":"j-sub","resource_group":"j-rg","workspace_name":"j-ws"}`)
			}
			c, err := Load(LoadOptions{Getenv: envOf(env), WorkDir: work})
			if err != nil {
				t.Fatal(err)
			}
			got := [3]string{c.Subscription, c.ResourceGroup, c.WorkspaceName}
			if got != tt.want {
				t.Errorf("workspace = %q, want %q", got, tt.want)
			}
			if c.Target != tt.wantTarget {
				v, _ := c.Get(KeyTarget)
				t.Errorf("target = %s (%s), want %s", c.Target, v.Origin, tt.wantTarget)
			}
			if tt.wantSource != "" {
				v, _ := c.Get(KeyResourceGroup)
				if v.Source != tt.wantSource {
					t.Errorf("resource_group source = %s, want %s", v.Source, tt.wantSource)
				}
				switch v.Source {
				case SourceAzureCLI:
					if !strings.HasSuffix(v.Origin, filepath.Join(".azure", "config")+" [defaults] group") {
						t.Errorf("origin = %q, want the Azure CLI file and key", v.Origin)
					}
				case SourceAzureMLEnv:
					if v.Origin != EnvAzureMLResourceGroup {
						t.Errorf("origin = %q, want %s", v.Origin, EnvAzureMLResourceGroup)
					}
				}
			}
		})
	}
}

func TestAzureCLIDirHonoursAZURE_CONFIG_DIR(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "elsewhere")
	writeFile(t, filepath.Join(dir, "config"), "[defaults]\nGroup = g\nworkspace = w\n")
	writeFile(t, filepath.Join(dir, "clouds.config"), "[AzureCloud]\nsubscription = s\n")
	env := map[string]string{EnvConfigDir: filepath.Join(root, "cfg"), "HOME": root, "AZURE_CONFIG_DIR": dir}
	c, err := Load(LoadOptions{Getenv: envOf(env), WorkDir: root})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subscription != "s" || c.ResourceGroup != "g" || c.WorkspaceName != "w" {
		t.Fatalf("got %q %q %q", c.Subscription, c.ResourceGroup, c.WorkspaceName)
	}
}

func TestRequireWorkspaceNamesPfazureSources(t *testing.T) {
	c := Resolve(LoadOptions{Getenv: envOf(map[string]string{EnvConfigDir: t.TempDir()})})
	err := c.RequireWorkspace()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"AZUREML_ARM_WORKSPACE_NAME", "az configure --defaults", ".azureml/config.json"} {
		if !strings.Contains(err.Error()+fault.HintOf(err), want) {
			t.Errorf("error/hint lacks %q: %v", want, err)
		}
	}
}

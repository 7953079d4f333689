package config

import (
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/ini.v1"
)

// Sources of the workspace that pfazure reads and pfz reads too, so that a
// pipeline set up for `pfazure` runs `pfz` unchanged.
const (
	// SourceAzureCLI is the Azure CLI's defaults: `az configure --defaults
	// group=… workspace=…` ([defaults] of config) and `az account set`
	// ([<cloud>] subscription of clouds.config), in $AZURE_CONFIG_DIR or ~/.azure.
	SourceAzureCLI Source = "azure-cli"
	// SourceAzureMLEnv is pfazure's AZUREML_ARM_* variables.
	SourceAzureMLEnv Source = "azureml-env"
)

// AzureML environment variables pfazure reads for the workspace.
const (
	EnvAzureMLSubscription  = "AZUREML_ARM_SUBSCRIPTION"
	EnvAzureMLResourceGroup = "AZUREML_ARM_RESOURCEGROUP"
	EnvAzureMLWorkspace     = "AZUREML_ARM_WORKSPACE_NAME"
)

var workspaceKeys = map[string]bool{KeySubscription: true, KeyResourceGroup: true, KeyWorkspaceName: true}

// azureMLEnvLayer reads AZUREML_ARM_SUBSCRIPTION, AZUREML_ARM_RESOURCEGROUP and
// AZUREML_ARM_WORKSPACE_NAME.
func azureMLEnvLayer(getenv func(string) string) *layer {
	l := &layer{source: SourceAzureMLEnv, entries: map[string]entry{}, sets: workspaceKeys}
	for _, v := range []struct{ env, key string }{
		{EnvAzureMLSubscription, KeySubscription},
		{EnvAzureMLResourceGroup, KeyResourceGroup},
		{EnvAzureMLWorkspace, KeyWorkspaceName},
	} {
		if s := strings.TrimSpace(getenv(v.env)); s != "" {
			l.entries[v.key] = entry{raw: s, origin: v.env, at: v.env}
		}
	}
	return l
}

// AzureCLIDir is the Azure CLI's configuration folder: $AZURE_CONFIG_DIR,
// else .azure in the home folder ("" when there is no home).
func AzureCLIDir(getenv func(string) string) string {
	if d := getenv("AZURE_CONFIG_DIR"); d != "" {
		return d
	}
	home := getenv("HOME")
	if home == "" {
		home = getenv("USERPROFILE")
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".azure")
}

// azureCLILayer reads the workspace the Azure CLI's defaults name, as pfazure
// does: resource group and workspace from [defaults] group and workspace of
// config, the subscription from the current cloud's section of
// clouds.config. Like pfazure, a file that cannot be parsed is ignored: it
// belongs to another tool, and the Azure CLI reports it.
func azureCLILayer(getenv func(string) string) *layer {
	l := &layer{source: SourceAzureCLI, entries: map[string]entry{}, sets: workspaceKeys}
	dir := AzureCLIDir(getenv)
	if dir == "" {
		return l
	}
	cloudName := "AzureCloud"
	cfgPath := filepath.Join(dir, "config")
	if f := loadINI(cfgPath); f != nil {
		if s := f.Section("cloud").Key("name").String(); s != "" {
			cloudName = s
		}
		d := f.Section("defaults")
		for _, v := range []struct{ name, key string }{{"group", KeyResourceGroup}, {"workspace", KeyWorkspaceName}} {
			if s := strings.TrimSpace(d.Key(v.name).String()); s != "" {
				origin := cfgPath + " [defaults] " + v.name
				l.entries[v.key] = entry{raw: s, origin: origin, at: origin}
			}
		}
	}
	cloudsPath := filepath.Join(dir, "clouds.config")
	if f := loadINI(cloudsPath); f != nil {
		if s := strings.TrimSpace(f.Section(cloudName).Key("subscription").String()); s != "" {
			origin := cloudsPath + " [" + cloudName + "] subscription"
			l.entries[KeySubscription] = entry{raw: s, origin: origin, at: origin}
		}
	}
	return l
}

// loadINI reads a file written by Python's configparser, or returns nil.
func loadINI(path string) *ini.File {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	f, err := ini.LoadSources(ini.LoadOptions{
		Insensitive:                true, // configparser lowercases option names
		AllowPythonMultilineValues: true,
		SpaceBeforeInlineComment:   true,
	}, data)
	if err != nil {
		return nil
	}
	return f
}

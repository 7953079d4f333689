// Package config owns pfz's settings: the typed Config, the precedence of
// their sources (flag > PFZ_* environment > config file > .azureml/config.json
// > defaults), where each value came from, and reading and writing
// config.yaml (with the line and column of a bad value). It is, with
// internal/auth, the only package that reads the process environment;
// everything else gets values from here.
package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
)

// Source says which layer a value came from.
type Source string

const (
	SourceFlag    Source = "flag"
	SourceEnv     Source = "env"
	SourceFile    Source = "config-file"
	SourceAzureML Source = "azureml-config" // .azureml/config.json
	SourceDefault Source = "default"
)

// Value is one effective setting and where it came from.
type Value struct {
	Key    string `json:"key" yaml:"key"`
	Value  string `json:"value" yaml:"value"`
	Source Source `json:"source" yaml:"source"`
	// Origin names the flag, variable or file, or why a default applies.
	Origin string `json:"origin,omitempty" yaml:"origin,omitempty"`
}

// Config is the effective configuration of one pfz invocation.
type Config struct {
	Subscription    string
	ResourceGroup   string
	WorkspaceName   string
	Target          string // local or azureml, always set
	Cloud           string
	ARMEndpoint     string // always set (the cloud's when not overridden)
	ServiceEndpoint string // empty: use the workspace's discovery URL
	BlobEndpoint    string // a template with {account}, always set
	AuthMode        string
	Home            string
	Python          string
	Output          string
	// PollInterval is poll_interval; 0 lets each poller use its default.
	PollInterval time.Duration

	// Dir is the configuration folder and File the config.yaml in it.
	Dir  string
	File string
	// AzureMLConfig is the .azureml/config.json that was read, if any.
	AzureMLConfig string
	// Warnings are non-fatal findings (unknown keys in config.yaml).
	Warnings []string

	values map[string]Value
}

// LoadOptions are the inputs of Load; nothing is read from the process
// except files.
type LoadOptions struct {
	Getenv  func(string) string
	WorkDir string
	// Flags maps keys to values given on the command line.
	Flags map[string]string
	// FlagNames maps keys to the flag spelling, for messages and --sources.
	FlagNames map[string]string
}

// OSEnv returns the process environment lookup. Only the entry point calls it
// and passes the function on.
func OSEnv() func(string) string { return os.Getenv }

// OSEnviron returns the whole process environment, for child processes
// (python workers, pip, a detached session builder). Only the entry point
// calls it.
func OSEnviron() []string { return os.Environ() }

// Load resolves every key through the layers.
func Load(opts LoadOptions) (*Config, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := &Config{values: map[string]Value{}}
	c.Dir = Dir(getenv)
	c.File = filepath.Join(c.Dir, "config.yaml")

	file, warnings, err := readFile(c.File)
	if err != nil {
		return nil, err
	}
	c.Warnings = warnings

	amlPath, aml, err := findAzureMLConfig(opts.WorkDir)
	if err != nil {
		return nil, err
	}
	c.AzureMLConfig = amlPath

	for _, k := range Keys() {
		v, err := resolve(k, opts, getenv, file, c.File, aml, amlPath)
		if err != nil {
			return nil, err
		}
		if v.Source != "" {
			c.values[k.Name] = v
		}
	}
	c.applyDefaults(getenv)
	c.fill()
	return c, nil
}

// resolve returns the highest-precedence explicit value of k, or an empty
// Value when only a default applies.
func resolve(k KeyInfo, opts LoadOptions, getenv func(string) string, file map[string]fileValue, filePath string, aml map[string]fileValue, amlPath string) (Value, error) {
	if s, ok := opts.Flags[k.Name]; ok {
		name := opts.FlagNames[k.Name]
		if name == "" {
			name = k.Flag
		}
		n, err := k.normalize(s)
		if err != nil {
			return Value{}, fault.Wrap(fault.Usage, err, "invalid %s", name).WithHint("%s takes: %s", name, k.Description)
		}
		return Value{Key: k.Name, Value: n, Source: SourceFlag, Origin: name}, nil
	}
	if s := getenv(k.Env); s != "" {
		n, err := k.normalize(s)
		if err != nil {
			return Value{}, fault.Wrap(fault.Validation, err, "invalid %s", k.Env).
				WithHint("fix or unset the environment variable %s; it takes: %s", k.Env, k.Description)
		}
		return Value{Key: k.Name, Value: n, Source: SourceEnv, Origin: k.Env}, nil
	}
	if fv, ok := file[k.Name]; ok {
		n, err := k.normalize(fv.value)
		if err != nil {
			return Value{}, fault.Wrap(fault.Validation, err, "invalid %s at %s", k.Name, fv.at(filePath)).
				WithHint("%s takes: %s; run `pfz config set %s <value>` or edit the file", k.Name, k.Description, k.Name)
		}
		return Value{Key: k.Name, Value: n, Source: SourceFile, Origin: filePath}, nil
	}
	if fv, ok := aml[k.Name]; ok && fv.value != "" {
		return Value{Key: k.Name, Value: fv.value, Source: SourceAzureML, Origin: amlPath}, nil
	}
	return Value{}, nil
}

// applyDefaults fills keys that no layer set. Some defaults depend on other
// values: the target on whether a workspace is configured, the endpoints on
// the cloud.
func (c *Config) applyDefaults(getenv func(string) string) {
	def := func(key, value, why string) {
		if _, ok := c.values[key]; !ok {
			c.values[key] = Value{Key: key, Value: value, Source: SourceDefault, Origin: why}
		}
	}
	def(KeyCloud, CloudPublic, "")
	cloud := c.values[KeyCloud].Value
	arm, suffix := cloudEndpoints(cloud)
	def(KeyARMEndpoint, arm, "from cloud "+cloud)
	def(KeyServiceEndpoint, "", "from the workspace's discovery URL")
	def(KeyBlobEndpoint, "https://{account}.blob."+suffix, "from cloud "+cloud)
	if ws := c.workspaceSources(); len(ws) > 0 {
		def(KeyTarget, TargetAzureML, "a workspace is configured ("+strings.Join(ws, ", ")+")")
	} else {
		def(KeyTarget, TargetLocal, "no workspace is configured")
	}
	def(KeyAuthMode, "default", "the default credential chain")
	def(KeyHome, dataDir(getenv), "the user data folder")
	python := "python3"
	if runtime.GOOS == "windows" {
		python = "python"
	}
	def(KeyPython, python, "")
	def(KeyOutput, OutputTable, "")
}

// workspaceSources names the sources that configured any part of a workspace.
func (c *Config) workspaceSources() []string {
	seen := map[Source]bool{}
	var out []string
	for _, k := range []string{KeySubscription, KeyResourceGroup, KeyWorkspaceName} {
		if v, ok := c.values[k]; ok && v.Value != "" && !seen[v.Source] {
			seen[v.Source] = true
			out = append(out, string(v.Source))
		}
	}
	return out
}

func (c *Config) fill() {
	get := func(k string) string { return c.values[k].Value }
	c.Subscription = get(KeySubscription)
	c.ResourceGroup = get(KeyResourceGroup)
	c.WorkspaceName = get(KeyWorkspaceName)
	c.Target = get(KeyTarget)
	c.Cloud = get(KeyCloud)
	c.ARMEndpoint = get(KeyARMEndpoint)
	c.ServiceEndpoint = get(KeyServiceEndpoint)
	c.BlobEndpoint = get(KeyBlobEndpoint)
	c.AuthMode = get(KeyAuthMode)
	c.Home = get(KeyHome)
	c.Python = get(KeyPython)
	c.Output = get(KeyOutput)
	c.PollInterval, _ = time.ParseDuration(get(KeyPollInterval))
}

// Get returns the effective value of key.
func (c *Config) Get(key string) (Value, bool) {
	v, ok := c.values[key]
	return v, ok
}

// Values returns every key's effective value in display order; keys with
// no value have an empty one.
func (c *Config) Values() []Value {
	out := make([]Value, 0, len(c.values))
	for _, k := range Keys() {
		v, ok := c.values[k.Name]
		if !ok {
			v = Value{Key: k.Name, Source: SourceDefault, Origin: "not set"}
		}
		out = append(out, v)
	}
	return out
}

// WorkspaceConfigured reports whether any of subscription, resource group and
// workspace name is set.
func (c *Config) WorkspaceConfigured() bool { return len(c.workspaceSources()) > 0 }

// RequireWorkspace returns a usage error naming what is missing of the
// workspace triple.
func (c *Config) RequireWorkspace() error {
	var missing []string
	if c.Subscription == "" {
		missing = append(missing, "subscription (--subscription, PFZ_SUBSCRIPTION)")
	}
	if c.ResourceGroup == "" {
		missing = append(missing, "resource group (-g, PFZ_RESOURCE_GROUP)")
	}
	if c.WorkspaceName == "" {
		missing = append(missing, "workspace name (-w, PFZ_WORKSPACE_NAME)")
	}
	if len(missing) == 0 {
		return nil
	}
	return fault.New(fault.Usage, "the azureml target needs a workspace; missing: %s", strings.Join(missing, ", ")).
		WithHint("pass the flags, run `pfz config set <key> <value>`, or put an .azureml/config.json in this folder or a parent")
}

// BlobURL returns the blob endpoint of a storage account.
func (c *Config) BlobURL(account string) string {
	return strings.ReplaceAll(c.BlobEndpoint, "{account}", account)
}

// Dir returns the configuration folder: $PFZ_CONFIG_DIR, else pfz under the
// user configuration folder.
func Dir(getenv func(string) string) string {
	if d := getenv(EnvConfigDir); d != "" {
		return d
	}
	switch runtime.GOOS {
	case "windows":
		if d := getenv("APPDATA"); d != "" {
			return filepath.Join(d, "pfz")
		}
	case "darwin":
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, "Library", "Application Support", "pfz")
		}
	default:
		if d := getenv("XDG_CONFIG_HOME"); d != "" {
			return filepath.Join(d, "pfz")
		}
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, ".config", "pfz")
		}
	}
	return filepath.Join(os.TempDir(), "pfz-config")
}

// dataDir is the default home of the local target.
func dataDir(getenv func(string) string) string {
	switch runtime.GOOS {
	case "windows":
		if d := getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "pfz")
		}
	case "darwin":
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, "Library", "Application Support", "pfz", "data")
		}
	default:
		if d := getenv("XDG_DATA_HOME"); d != "" {
			return filepath.Join(d, "pfz")
		}
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, ".local", "share", "pfz")
		}
	}
	return filepath.Join(os.TempDir(), "pfz-data")
}

// findAzureMLConfig looks for .azureml/config.json in dir and its parents and
// returns the workspace it names, keyed like pfz's keys.
func findAzureMLConfig(dir string) (string, map[string]fileValue, error) {
	if dir == "" {
		return "", nil, nil
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, nil
	}
	for {
		p := filepath.Join(dir, ".azureml", "config.json")
		data, err := os.ReadFile(p)
		if err == nil {
			vals, err := azureMLConfig(p, data)
			if err != nil {
				return "", nil, err
			}
			return p, vals, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil, nil
		}
		dir = parent
	}
}

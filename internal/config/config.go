// Package config owns pfz's settings: the typed Config, the precedence of
// their sources (flag > PFZ_* environment > config file > .azureml/config.json
// > defaults), where each value came from, which values cannot be used and
// what they stop, and reading and writing config.yaml (with the line and
// column of a bad value). It is the only package that imports viper: one
// viper instance per Resolve holds the layers and resolves the precedence
// (layers.go says how each layer enters it). It is, with internal/auth, the
// only package that reads the process environment; everything else gets
// values from here.
package config

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
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
	// Problem says why the value cannot be used, when it cannot; Value is
	// then what was written, and commands that need the key fail.
	Problem string `json:"problem,omitempty" yaml:"problem,omitempty"`
}

// Problem is a setting pfz cannot use: an invalid value, or a file that
// cannot be read and so may hide values.
type Problem struct {
	Source Source
	// Keys are the keys whose value it hides: those it sets, in display
	// order, then those whose default follows them (the target follows the
	// workspace settings, the endpoints the cloud).
	Keys []string
	// Err says where (flag, variable, file:line:column) and has a hint.
	Err *fault.Error
}

// Config is the effective configuration of one pfz invocation. A setting
// with a problem leaves its field at the default; Check says whether the
// keys a caller reads are usable.
type Config struct {
	Subscription    string
	ResourceGroup   string
	WorkspaceName   string
	Target          string // local or azureml, always set
	Cloud           string
	ARMEndpoint     string // always set (the cloud's when not overridden)
	ServiceEndpoint string // empty: use the workspace's discovery URL
	BlobEndpoint    string // a template with {account}, always set
	FileEndpoint    string // a template with {account}, always set
	AuthMode        string
	Home            string
	Python          string
	Output          string
	// PollInterval is poll_interval; 0 lets each poller use its default.
	PollInterval time.Duration
	// ConnectTimeout, AnswerTimeout and MaxRetryWait are the network.*
	// keys; 0 takes the network policy's default.
	ConnectTimeout, AnswerTimeout, MaxRetryWait time.Duration

	// Dir is the configuration folder and File the config.yaml in it.
	Dir  string
	File string
	// AzureMLConfig is the .azureml/config.json that was found, if any.
	AzureMLConfig string
	// Warnings are non-fatal findings (unknown keys in config.yaml).
	Warnings []string

	// eff holds the usable values (defaults included); shown the values
	// with a problem, as written; problems the problem of each such key.
	eff      map[string]Value
	shown    map[string]Value
	problems map[string]*Problem
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

// Load resolves every key through the layers and fails on the first setting
// that cannot be used, wherever it is.
func Load(opts LoadOptions) (*Config, error) {
	c := Resolve(opts)
	if err := c.Check(); err != nil {
		return nil, err
	}
	return c, nil
}

// Resolve resolves every key through the layers and never fails: settings
// that cannot be used are recorded as problems, for Check and for
// `config list --sources`, so that a command that does not read them runs.
func Resolve(opts LoadOptions) *Config {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := &Config{eff: map[string]Value{}, shown: map[string]Value{}, problems: map[string]*Problem{}}
	c.Dir = Dir(getenv)
	c.File = filepath.Join(c.Dir, "config.yaml")

	flags := flagLayer(opts)
	env := envLayer(getenv)
	file, data, warnings := readFile(c.File)
	c.Warnings = warnings
	var aml *layer
	c.AzureMLConfig, aml = findAzureMLConfig(opts.WorkDir)

	lower := workspaceSource([]*layer{flags, env, file}, azureCLILayer(getenv), azureMLEnvLayer(getenv), aml)
	v, err := newViper(flags, env, file, lower, data)
	if err != nil {
		// The diagnostics accepted what viper's reading refused: say so
		// rather than guess what the file meant.
		file.broken = &Problem{Source: SourceFile, Err: fault.Wrap(fault.Failed, err, "cannot read %s", c.File).
			WithHint("fix the file or delete it and use `pfz config set`")}
		file.entries = map[string]entry{}
		v, _ = newViper(flags, env, file, lower, nil)
	}
	layers := append([]*layer{flags, env, file}, lower...)
	for _, k := range Keys() {
		c.resolveKey(k, v.GetString(k.Name), layers)
	}
	c.applyDefaults(getenv)
	for _, k := range Keys() {
		if p := c.followed(k.Name); p != nil {
			p.Keys = append(p.Keys, k.Name)
		}
	}
	c.fill()
	return c
}

// workspaceSource picks, of the sources below pfz's own (the Azure CLI's
// defaults, AZUREML_ARM_*, .azureml/config.json), the first that completes
// the workspace with what the higher layers set, and only it: the subscription
// of `az account set`, on most machines, must not be stitched to the resource
// group and workspace of a project's config.json into a workspace nobody
// named. When none completes it alone, they fill key by key in that order,
// as pfazure fills its two.
func workspaceSource(higher []*layer, lower ...*layer) []*layer {
	set := func(l *layer, key string) bool {
		e, ok := l.entries[key]
		return ok && (e.raw != "" || e.bad != nil)
	}
	for _, l := range lower {
		if len(l.entries) == 0 {
			continue
		}
		complete := true
		for _, key := range []string{KeySubscription, KeyResourceGroup, KeyWorkspaceName} {
			byHigher := false
			for _, h := range higher {
				byHigher = byHigher || set(h, key)
			}
			complete = complete && (byHigher || set(l, key))
		}
		if complete {
			return []*layer{l}
		}
	}
	return lower
}

func flagLayer(opts LoadOptions) *layer {
	l := &layer{source: SourceFlag, entries: map[string]entry{}}
	for key, s := range opts.Flags {
		name := opts.FlagNames[key]
		if name == "" {
			if k, ok := Lookup(key); ok {
				name = k.Flag
			}
		}
		l.entries[key] = entry{raw: s, origin: name, at: name}
	}
	return l
}

func envLayer(getenv func(string) string) *layer {
	l := &layer{source: SourceEnv, entries: map[string]entry{}}
	for _, k := range Keys() {
		if s := getenv(k.Env); s != "" {
			l.entries[k.Name] = entry{raw: s, origin: k.Env, at: k.Env}
		}
	}
	return l
}

// resolveKey records k's value: value is what viper resolved, and the
// highest layer that has an entry for k is where it came from (viper does
// not say). A layer above it that could not be read may have set k too, so
// its problem is k's.
func (c *Config) resolveKey(k KeyInfo, value string, layers []*layer) {
	var above *Problem
	for _, l := range layers {
		e, ok := l.entries[k.Name]
		if !ok {
			if l.broken != nil && above == nil && l.canSet(k.Name) {
				above = l.broken
			}
			continue
		}
		v := Value{Key: k.Name, Value: value, Source: l.source, Origin: e.origin}
		p := e.bad
		if p == nil {
			p = above
		}
		if p == nil {
			n, err := k.normalize(value)
			if err == nil {
				v.Value = n
				c.eff[k.Name] = v
				return
			}
			p = &Problem{Source: l.source, Err: invalid(k, l.source, e.at, err)}
		}
		if e.bad != nil {
			v.Value = e.raw
		}
		c.shown[k.Name] = v
		c.addProblem(k.Name, p)
		return
	}
	if above != nil {
		c.addProblem(k.Name, above)
	}
}

func (c *Config) addProblem(key string, p *Problem) {
	c.problems[key] = p
	p.Keys = append(p.Keys, key)
}

// invalid is the error of a value that does not normalize, worded for where
// it was written.
func invalid(k KeyInfo, src Source, at string, err error) *fault.Error {
	switch src {
	case SourceFlag:
		return fault.Wrap(fault.Usage, err, "invalid %s", at).WithHint("%s takes: %s", at, k.Description)
	case SourceEnv:
		return fault.Wrap(fault.Validation, err, "invalid %s", at).
			WithHint("fix or unset the environment variable %s; it takes: %s", at, k.Description)
	case SourceFile:
		return fault.Wrap(fault.Validation, err, "invalid %s at %s", k.Name, at).
			WithHint("%s takes: %s; run `pfz config set %s <value>` or edit the file", k.Name, k.Description, k.Name)
	}
	return fault.Wrap(fault.Validation, err, "invalid %s at %s", k.Name, at).WithHint("%s takes: %s", k.Name, k.Description)
}

// applyDefaults fills keys that no layer set, or set unusably. Some defaults
// depend on other values: the target on whether a workspace is configured,
// the endpoints on the cloud.
func (c *Config) applyDefaults(getenv func(string) string) {
	def := func(key, value, why string) {
		if _, ok := c.eff[key]; !ok {
			c.eff[key] = Value{Key: key, Value: value, Source: SourceDefault, Origin: why}
		}
	}
	def(KeyCloud, CloudPublic, "")
	cloud := c.eff[KeyCloud].Value
	arm, suffix := cloudEndpoints(cloud)
	def(KeyARMEndpoint, arm, "from cloud "+cloud)
	def(KeyServiceEndpoint, "", "from the workspace's discovery URL")
	def(KeyBlobEndpoint, "https://{account}.blob."+suffix, "from cloud "+cloud)
	def(KeyFileEndpoint, "https://{account}.file."+suffix, "from cloud "+cloud)
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

// workspaceSources names the sources that configured any part of a
// workspace. The Azure CLI's defaults count only when the workspace is
// complete: nearly every machine with the Azure CLI has a subscription in
// clouds.config, and a group default set for other az commands must not move
// pfz off the local target.
func (c *Config) workspaceSources() []string {
	seen := map[Source]bool{}
	var out []string
	complete := true
	for _, k := range []string{KeySubscription, KeyResourceGroup, KeyWorkspaceName} {
		v, ok := c.eff[k]
		if !ok || v.Value == "" {
			complete = false
			continue
		}
		if !seen[v.Source] {
			seen[v.Source] = true
			out = append(out, string(v.Source))
		}
	}
	if !complete {
		out = slices.DeleteFunc(out, func(s string) bool { return s == string(SourceAzureCLI) })
	}
	return out
}

func (c *Config) fill() {
	get := func(k string) string { return c.eff[k].Value }
	c.Subscription = get(KeySubscription)
	c.ResourceGroup = get(KeyResourceGroup)
	c.WorkspaceName = get(KeyWorkspaceName)
	c.Target = get(KeyTarget)
	c.Cloud = get(KeyCloud)
	c.ARMEndpoint = get(KeyARMEndpoint)
	c.ServiceEndpoint = get(KeyServiceEndpoint)
	c.BlobEndpoint = get(KeyBlobEndpoint)
	c.FileEndpoint = get(KeyFileEndpoint)
	c.AuthMode = get(KeyAuthMode)
	c.Home = get(KeyHome)
	c.Python = get(KeyPython)
	c.Output = get(KeyOutput)
	c.PollInterval, _ = time.ParseDuration(get(KeyPollInterval))
	c.ConnectTimeout, _ = time.ParseDuration(get(KeyConnectTimeout))
	c.AnswerTimeout, _ = time.ParseDuration(get(KeyAnswerTimeout))
	c.MaxRetryWait, _ = time.ParseDuration(get(KeyMaxRetryWait))
}

// Get returns the value of key as `config get` shows it: a value with a
// problem is shown as written, with the problem; a default that follows a
// key with a problem (the target, the endpoints) has that problem.
func (c *Config) Get(key string) (Value, bool) {
	v, ok := c.shown[key]
	if !ok {
		v, ok = c.eff[key]
	}
	if errs := c.problemsOf(key); len(errs) > 0 {
		if !ok {
			v = Value{Key: key, Source: SourceDefault, Origin: "not set"}
		}
		v.Problem = errs[0].Error()
		ok = true
	}
	return v, ok
}

// Values returns every key's value in display order, as Get shows it; keys
// with no value have an empty one.
func (c *Config) Values() []Value {
	out := make([]Value, 0, len(Keys()))
	for _, k := range Keys() {
		v, ok := c.Get(k.Name)
		if !ok {
			v = Value{Key: k.Name, Source: SourceDefault, Origin: "not set"}
		}
		out = append(out, v)
	}
	return out
}

// Problems lists each problem once, those of flags first, then in the
// order of the keys they hide.
func (c *Config) Problems() []*Problem {
	var flags, rest []*Problem
	seen := map[*Problem]bool{}
	for _, k := range Keys() {
		p := c.problems[k.Name]
		if p == nil || seen[p] {
			continue
		}
		seen[p] = true
		if p.Source == SourceFlag {
			flags = append(flags, p)
		} else {
			rest = append(rest, p)
		}
	}
	return append(flags, rest...)
}

// Check returns the error of the first problem that keeps any of keys (all
// keys when none is given) from being usable, a flag's first. A default that
// follows another key has that key's problem: the target follows the
// workspace settings, the endpoints follow the cloud.
func (c *Config) Check(keys ...string) error {
	if len(keys) == 0 {
		for _, k := range Keys() {
			keys = append(keys, k.Name)
		}
	}
	var first error
	for _, key := range keys {
		for _, err := range c.problemsOf(key) {
			if fault.KindOf(err) == fault.Usage {
				return err
			}
			if first == nil {
				first = err
			}
		}
	}
	return first
}

func (c *Config) problemsOf(key string) []error {
	var out []error
	if p := c.problems[key]; p != nil {
		out = append(out, p.Err)
	}
	p := c.followed(key)
	switch {
	case p == nil:
	case key == KeyTarget:
		hint := fault.HintOf(p.Err)
		if hint != "" {
			hint += "; "
		}
		out = append(out, fault.Wrap(p.Err.Kind, p.Err, "cannot choose the target, which follows the workspace settings").
			WithHint("%sor choose the target with --target local or --target azureml", hint))
	default:
		out = append(out, p.Err)
	}
	return out
}

// followed returns the problem of the key whose value key's default
// follows: the target's follows the workspace settings when none of them is
// usable, the endpoints' follow the cloud.
func (c *Config) followed(key string) *Problem {
	if c.eff[key].Source != SourceDefault {
		return nil
	}
	switch key {
	case KeyTarget:
		if c.WorkspaceConfigured() {
			return nil
		}
		for _, ws := range []string{KeySubscription, KeyResourceGroup, KeyWorkspaceName} {
			if p := c.problems[ws]; p != nil {
				return p
			}
		}
	case KeyARMEndpoint, KeyBlobEndpoint, KeyFileEndpoint:
		return c.problems[KeyCloud]
	}
	return nil
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
		WithHint("pass the flags, run `pfz config set <key> <value>`, set AZUREML_ARM_SUBSCRIPTION, AZUREML_ARM_RESOURCEGROUP and AZUREML_ARM_WORKSPACE_NAME, run `az configure --defaults group=<rg> workspace=<ws>`, or put an .azureml/config.json in this folder or a parent; `pfz config list --sources` shows what was found")
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

// DefaultHome is the local target's home when PFZ_HOME is not set:
// <user data folder>/pfz.
func DefaultHome(getenv func(string) string) string { return dataDir(getenv) }

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
// returns its path (empty when there is none) and its layer.
func findAzureMLConfig(dir string) (string, *layer) {
	empty := &layer{source: SourceAzureML, entries: map[string]entry{}}
	if dir == "" {
		return "", empty
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", empty
	}
	for {
		p := filepath.Join(dir, ".azureml", "config.json")
		if data, err := os.ReadFile(p); err == nil {
			return p, azureMLConfig(p, data)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", empty
		}
		dir = parent
	}
}

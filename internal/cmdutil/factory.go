// Package cmdutil holds what every command shares: the Factory of lazy
// dependencies, the error values and the one place that prints them, the
// output printer (table, json, yaml with --query), argument and flag helpers
// (KEY=VALUE lists, nargs-style flags, prefix matching), and the progress
// reporter. It imports no backend: backends reach commands only through the
// Factory's Backends map.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/pfz-cli/pfz/internal/auth"
	"github.com/pfz-cli/pfz/internal/config"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/netpolicy"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Backend opens the workspace of one target from the effective configuration.
// The local and azureml backends register one each in Factory.Backends.
type Backend func(ctx context.Context, cfg *config.Config) (workspace.Workspace, error)

// GlobalFlags are the root command's persistent flags. The root binds them;
// Config reads the ones the user set.
type GlobalFlags struct {
	Output        string
	Query         string
	Debug         bool
	Verbose       bool
	Target        string
	Subscription  string
	ResourceGroup string
	WorkspaceName string

	// Changed reports whether the user gave the flag; the root sets it.
	Changed func(name string) bool
}

// Factory hands commands their dependencies. Every func is lazy: --help and
// completion never read configuration, and no command opens a workspace it
// does not use.
//
// The configuration is lazy per key as well: a setting that cannot be used
// (PFZ_CLOUD=Mars, a broken .azureml/config.json in a parent folder) stops
// only what reads it. Config fails on a bad flag or output format, which
// every command that prints needs; Workspace, Credential, AuthStatus,
// UserAlias and ConfigFor check the keys they read. What no part of the
// command read is reported after it by IgnoredConfigProblems.
//
// Dependency order: IOStreams, Getenv and WorkDir are plain values; Config
// reads Getenv, WorkDir and Global; Workspace reads Config and Backends;
// Credential reads Config and Getenv; AuthStatus reads Credential; UserAlias
// reads Config, and AuthStatus on azureml. Each may be replaced (tests, the
// backend wiring) before the command runs.
type Factory struct {
	AppVersion     string
	ExecutableName string
	Build          BuildInfo

	IOStreams *iostreams.IOStreams
	// Getenv reads the environment; tests pass a map.
	Getenv func(string) string
	// WorkDir is the working directory, the default --flow and the start of
	// the .azureml/config.json search.
	WorkDir string
	Now     func() time.Time
	// PollInterval is how often waiting commands (run stream) poll.
	PollInterval time.Duration

	Global GlobalFlags

	// Config returns the effective configuration (read once). Its error is
	// that of a bad global flag or output format only; a caller that reads
	// other keys checks them with ConfigFor or cfg.Check.
	Config func() (*config.Config, error)

	// Backends maps a target name (workspace.TargetLocal,
	// workspace.TargetAzureML) to the func that opens it. This is the
	// registration point for the backends; a target without an entry fails
	// with fault.Unsupported.
	Backends map[string]Backend

	// Workspace opens the workspace of the configured target (once).
	Workspace func(ctx context.Context) (workspace.Workspace, error)

	// UserAlias returns the user part of session ids: on azureml the alias
	// from the token's claims, on local the OS user.
	UserAlias func(ctx context.Context) (string, error)

	// Credential returns the Azure credential of auth.mode (once), wrapped in
	// a token cache, and what it is. Backends that talk to Azure should use
	// it so one token serves every call.
	Credential func() (azcore.TokenCredential, auth.Info, error)

	// Connections returns the connection store of the configured target.
	Connections func(ctx context.Context) (ConnectionStore, error)

	// AuthStatus says which credential pfz uses and who it is.
	AuthStatus func(ctx context.Context) (*AuthStatus, error)

	// FlexSignature returns how the target's submissions read a flex
	// entry's signature into the uploaded flow.flex.yaml; nil when the
	// target reads the code itself (local).
	FlexSignature func() (snapshot.SignatureFunc, error)

	cfgState *configState

	noticeOnce sync.Once
	notice     func(netpolicy.Wait)
}

// configState is what the default Config loaded and which of its problems
// were handed to a caller as an error.
type configState struct {
	mu       sync.Mutex
	cfg      *config.Config
	err      error
	reported []error
}

// BuildInfo says what pfz was built from (set by ldflags at release).
type BuildInfo struct {
	Version string
	Commit  string
	Date    string
}

// FactoryOptions are the plain inputs of New.
type FactoryOptions struct {
	Build    BuildInfo
	IO       *iostreams.IOStreams
	Getenv   func(string) string
	WorkDir  string
	Backends map[string]Backend
	Now      func() time.Time
}

// New builds the default Factory.
func New(o FactoryOptions) *Factory {
	f := &Factory{
		AppVersion:     o.Build.Version,
		Build:          o.Build,
		ExecutableName: "pfz",
		IOStreams:      o.IO,
		Getenv:         o.Getenv,
		WorkDir:        o.WorkDir,
		Now:            o.Now,
		PollInterval:   5 * time.Second,
		Backends:       o.Backends,
	}
	if f.Getenv == nil {
		f.Getenv = func(string) string { return "" }
	}
	if f.Now == nil {
		f.Now = time.Now
	}
	if f.Backends == nil {
		f.Backends = map[string]Backend{}
	}
	f.cfgState = &configState{}
	f.Config = memoConfig(f)
	f.Workspace = memoWorkspace(f)
	f.Credential = memoCredential(f)
	f.UserAlias = func(ctx context.Context) (string, error) { return defaultUserAlias(ctx, f) }
	f.Connections = func(context.Context) (ConnectionStore, error) {
		return nil, notAvailable("connections", "connection commands are not available in this build yet")
	}
	f.AuthStatus = func(ctx context.Context) (*AuthStatus, error) { return defaultAuthStatus(ctx, f) }
	f.FlexSignature = func() (snapshot.SignatureFunc, error) { return nil, nil }
	return f
}

// Verbosef writes a line to stderr with --verbose or --debug.
func (f *Factory) Verbosef(format string, args ...any) {
	if f.Global.Verbose || f.Global.Debug {
		Infof(f.IOStreams, format, args...)
	}
}

func notAvailable(what, msg string) *fault.Error {
	return fault.New(fault.Unsupported, "%s", msg).
		WithHint("%s will come in a later release; see `pfz help` for what works today", what)
}

// flagKeys maps global flag names to configuration keys.
func flagKeys() map[string]string {
	return map[string]string{
		"output":         config.KeyOutput,
		"target":         config.KeyTarget,
		"subscription":   config.KeySubscription,
		"resource-group": config.KeyResourceGroup,
		"workspace-name": config.KeyWorkspaceName,
	}
}

// flagValues returns the configuration keys the user set with flags.
func (f *Factory) flagValues() (map[string]string, map[string]string) {
	values, names := map[string]string{}, map[string]string{}
	if f.Global.Changed == nil {
		return values, names
	}
	g := f.Global
	byFlag := map[string]string{
		"output": g.Output, "target": g.Target, "subscription": g.Subscription,
		"resource-group": g.ResourceGroup, "workspace-name": g.WorkspaceName,
	}
	for flag, key := range flagKeys() {
		if g.Changed(flag) {
			values[key] = byFlag[flag]
			names[key] = "--" + flag
		}
	}
	return values, names
}

func memoConfig(f *Factory) func() (*config.Config, error) {
	st := f.cfgState
	return func() (*config.Config, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.cfg == nil {
			values, names := f.flagValues()
			st.cfg = config.Resolve(config.LoadOptions{
				Getenv: f.Getenv, WorkDir: f.WorkDir, Flags: values, FlagNames: names,
			})
			st.err = flagProblem(st.cfg)
			if st.err == nil {
				st.err = st.cfg.Check(config.KeyOutput)
			}
			if st.err != nil {
				st.reported = append(st.reported, st.err)
			} else {
				for _, w := range st.cfg.Warnings {
					Warnf(f.IOStreams, "%s", w)
				}
			}
		}
		if st.err != nil {
			return nil, st.err
		}
		return st.cfg, nil
	}
}

// flagProblem is the error of a bad global flag: the user typed it on this
// command line, so it is a usage error whatever the command reads.
func flagProblem(cfg *config.Config) error {
	for _, p := range cfg.Problems() {
		if p.Source == config.SourceFlag {
			return p.Err
		}
	}
	return nil
}

// ConfigFor returns the configuration when keys are usable, and otherwise
// the error of the first problem among them (file:line:column and a hint).
func (f *Factory) ConfigFor(keys ...string) (*config.Config, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return cfg, nil
	}
	if err := cfg.Check(keys...); err != nil {
		if st := f.cfgState; st != nil {
			st.mu.Lock()
			st.reported = append(st.reported, err)
			st.mu.Unlock()
		}
		return nil, err
	}
	return cfg, nil
}

// IgnoredConfigProblems returns the problems of the configuration the
// command loaded that no part of it needed, leaving out those it was told
// about and those in cmdErr: the command ran without them, and the user
// should still hear of them. It returns nothing when the command did not
// load the configuration.
func (f *Factory) IgnoredConfigProblems(cmdErr error) []*config.Problem {
	st := f.cfgState
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cfg == nil {
		return nil
	}
	var out []*config.Problem
	for _, p := range st.cfg.Problems() {
		told := errors.Is(cmdErr, p.Err)
		for _, r := range st.reported {
			told = told || errors.Is(r, p.Err)
		}
		if !told {
			out = append(out, p)
		}
	}
	return out
}

func memoWorkspace(f *Factory) func(ctx context.Context) (workspace.Workspace, error) {
	var (
		mu sync.Mutex
		ws workspace.Workspace
	)
	return func(ctx context.Context) (workspace.Workspace, error) {
		mu.Lock()
		defer mu.Unlock()
		if ws != nil {
			return ws, nil
		}
		cfg, err := f.ConfigFor(config.KeyTarget)
		if err != nil {
			return nil, err
		}
		if _, err := f.ConfigFor(config.TargetKeys(cfg.Target)...); err != nil {
			return nil, err
		}
		open := f.Backends[cfg.Target]
		if open == nil {
			return nil, fault.New(fault.Unsupported, "the %s target is not available in this build yet", cfg.Target).
				WithHint("%s", targetHint(cfg))
		}
		w, err := open(ctx, cfg)
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(f.IOStreams.ErrOut, TargetNote(cfg))
		ws = w
		return ws, nil
	}
}

// TargetNote is the line every command that acts on a target prints on
// stderr: which target, and why it was chosen, so that the choice is never a
// surprise (a workspace found in a parent folder's .azureml/config.json or the
// Azure CLI's defaults moves pfz off the local target).
func TargetNote(cfg *config.Config) string {
	v, _ := cfg.Get(config.KeyTarget)
	switch {
	case v.Source != config.SourceDefault:
		return fmt.Sprintf("target %s: set by %s", cfg.Target, v.Origin)
	case cfg.Target == config.TargetLocal:
		return "target local: no workspace configured (set one with `pfz config set`, AZUREML_ARM_* or .azureml/config.json, or pass --target azureml)"
	}
	var from []string
	for _, k := range []string{config.KeySubscription, config.KeyResourceGroup, config.KeyWorkspaceName} {
		if w, ok := cfg.Get(k); ok && w.Origin != "" && !slices.Contains(from, w.Origin) {
			from = append(from, w.Origin)
		}
	}
	return fmt.Sprintf("target azureml: workspace %s/%s/%s from %s — pass --target local to run on this machine",
		cfg.Subscription, cfg.ResourceGroup, cfg.WorkspaceName, strings.Join(from, ", "))
}

func targetHint(cfg *config.Config) string {
	v, _ := cfg.Get(config.KeyTarget)
	why := string(v.Source)
	if v.Origin != "" {
		why += ": " + v.Origin
	}
	return "the target was chosen by " + why + "; `pfz run create --dry-run` and `pfz flow validate` work offline meanwhile"
}

func memoCredential(f *Factory) func() (azcore.TokenCredential, auth.Info, error) {
	var (
		mu   sync.Mutex
		done bool
		cred azcore.TokenCredential
		info auth.Info
		err  error
	)
	return func() (azcore.TokenCredential, auth.Info, error) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			var cfg *config.Config
			if cfg, err = f.ConfigFor(append([]string{config.KeyAuthMode, config.KeyCloud}, NetworkKeys...)...); err == nil {
				cred, info, err = auth.NewCredential(auth.Options{
					Mode: cfg.AuthMode, Cloud: cfg.Cloud, Env: f.Getenv, Now: f.Now, Network: f.NetworkPolicy(cfg),
				})
			}
			done = true
		}
		return cred, info, err
	}
}

// defaultAuthStatus fetches a resource manager token and says whose it is.
func defaultAuthStatus(ctx context.Context, f *Factory) (*AuthStatus, error) {
	cfg, err := f.ConfigFor(config.KeyAuthMode, config.KeyCloud)
	if err != nil {
		return nil, err
	}
	cred, info, err := f.Credential()
	if err != nil {
		return nil, err
	}
	st, err := auth.StatusFor(ctx, cred, auth.ScopeFor(cfg.Cloud))
	if err != nil {
		return nil, err
	}
	principal := st.UPN
	if principal == "" {
		principal = st.ObjectID
	}
	return &AuthStatus{
		Mode: cfg.AuthMode, Credential: st.Credential, Tenant: st.TenantID,
		Principal: principal, UserAlias: st.Alias, Chain: info.Chain,
	}, nil
}

// defaultUserAlias is the OS user on the local target and the alias in the
// token's claims on azureml (protocol §3.6).
func defaultUserAlias(ctx context.Context, f *Factory) (string, error) {
	cfg, err := f.ConfigFor(config.KeyTarget)
	if err != nil {
		return "", err
	}
	if cfg.Target != config.TargetLocal {
		// The missing workspace is the first thing to fix, not a credential.
		if err := cfg.RequireWorkspace(); err != nil {
			return "", err
		}
		st, err := f.AuthStatus(ctx)
		if err != nil {
			return "", err
		}
		if st.UserAlias == "" {
			return "unknown_user", nil
		}
		return st.UserAlias, nil
	}
	return OSUserAlias()
}

// OSUserAlias is the user part of local session ids: the OS user.
func OSUserAlias() (string, error) {
	u, err := user.Current()
	if err != nil || u.Username == "" {
		return "", fault.Wrap(fault.Failed, err, "cannot tell the current user")
	}
	name := u.Username
	if i := strings.LastIndexAny(name, `\/`); i >= 0 {
		name = name[i+1:] // DOMAIN\user on Windows
	}
	return name, nil
}

// ConnectionStore lists and edits the connections of a target.
type ConnectionStore interface {
	List(ctx context.Context) ([]Connection, error)
	Get(ctx context.Context, name string) (*Connection, error)
	Create(ctx context.Context, c Connection) (*Connection, error)
	Delete(ctx context.Context, name string) error
}

// Connection is a named set of settings a flow node uses (an API base, a key).
// Secrets are never printed: stores return them masked.
type Connection struct {
	// File, on Create only, is a connection YAML to read; the other fields
	// then override its values.
	File    string            `json:"-" yaml:"-"`
	Name    string            `json:"name" yaml:"name"`
	Type    string            `json:"type" yaml:"type"`
	Configs map[string]string `json:"configs,omitempty" yaml:"configs,omitempty"`
	Secrets map[string]string `json:"secrets,omitempty" yaml:"secrets,omitempty"`
}

// AuthStatus is what `pfz auth status` prints.
type AuthStatus struct {
	Mode       string `json:"mode" yaml:"mode"`
	Credential string `json:"credential" yaml:"credential"`
	Tenant     string `json:"tenant,omitempty" yaml:"tenant,omitempty"`
	Principal  string `json:"principal,omitempty" yaml:"principal,omitempty"`
	UserAlias  string `json:"user_alias,omitempty" yaml:"user_alias,omitempty"`
	// Chain lists the default chain's members when auth.mode is default.
	Chain string `json:"chain,omitempty" yaml:"chain,omitempty"`
}

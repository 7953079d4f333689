package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pfz-cli/pfz/internal/auth"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/suggest"
)

// Keys of the configuration.
const (
	KeySubscription    = "subscription"
	KeyResourceGroup   = "resource_group"
	KeyWorkspaceName   = "workspace_name"
	KeyTarget          = "target"
	KeyCloud           = "cloud"
	KeyARMEndpoint     = "arm_endpoint"
	KeyServiceEndpoint = "service_endpoint"
	KeyBlobEndpoint    = "blob_endpoint"
	KeyFileEndpoint    = "file_endpoint"
	KeyAuthMode        = "auth.mode"
	KeyHome            = "home"
	KeyPython          = "python"
	KeyOutput          = "output"
	KeyPollInterval    = "poll_interval"
	// The network policy of every Azure call (internal/netpolicy).
	KeyConnectTimeout = "network.connect_timeout"
	KeyAnswerTimeout  = "network.answer_timeout"
	KeyMaxRetryWait   = "network.max_retry_wait"
)

// Targets, clouds and output formats pfz accepts.
const (
	TargetLocal   = "local"
	TargetAzureML = "azureml"

	CloudPublic = "AzureCloud"
	CloudChina  = "AzureChinaCloud"
	CloudUSGov  = "AzureUSGovernment"

	OutputTable = "table"
	OutputJSON  = "json"
	OutputYAML  = "yaml"
)

// EnvConfigDir names the folder holding config.yaml.
const EnvConfigDir = "PFZ_CONFIG_DIR"

// KeyInfo describes one configuration key.
type KeyInfo struct {
	Name        string
	Env         string // PFZ_ + the key upper-cased, "." → "_"
	Flag        string // the global flag that sets it, if any
	Description string
	// normalize validates a value and returns its canonical form.
	normalize func(string) (string, error)
}

// EnvName returns the environment variable of a key.
func EnvName(key string) string {
	return "PFZ_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Keys lists every configuration key in display order.
func Keys() []KeyInfo {
	k := func(name, flag, desc string, norm func(string) (string, error)) KeyInfo {
		if norm == nil {
			norm = func(s string) (string, error) { return s, nil }
		}
		return KeyInfo{Name: name, Env: EnvName(name), Flag: flag, Description: desc, normalize: norm}
	}
	return []KeyInfo{
		k(KeySubscription, "--subscription", "Azure subscription id of the workspace", nil),
		k(KeyResourceGroup, "-g/--resource-group", "resource group of the workspace", nil),
		k(KeyWorkspaceName, "-w/--workspace-name", "Azure ML workspace name", nil),
		k(KeyTarget, "--target", "local or azureml (default: azureml when a workspace is configured, else local)", normTarget),
		k(KeyCloud, "", "AzureCloud, AzureChinaCloud or AzureUSGovernment", normCloud),
		k(KeyARMEndpoint, "", "resource manager URL (default: the cloud's)", normURL),
		k(KeyServiceEndpoint, "", "flow service base URL (default: from the workspace's discovery URL)", normURL),
		k(KeyBlobEndpoint, "", "blob endpoint template with {account} (default: https://{account}.blob.<cloud suffix>)", normBlob),
		k(KeyFileEndpoint, "", "file share endpoint template with {account}, for pfz flow create (default: https://{account}.file.<cloud suffix>)", normBlob),
		k(KeyAuthMode, "", "credential: default, environment, workload-identity, managed-identity, azure-cli or azd", normAuthMode),
		k(KeyHome, "", "folder of the local target's state (default: the user data folder)", nil),
		k(KeyPython, "", "Python interpreter for local sessions", normNonEmpty(KeyPython)),
		k(KeyOutput, "-o/--output", "default output format: table, json or yaml", normOutput),
		k(KeyPollInterval, "", "wait between polls of a remote operation, a Go duration (default: 5s); for tests", normDuration),
		k(KeyConnectTimeout, "", "longest wait for a TCP connection, and for a TLS handshake, to an Azure endpoint (default: 10s)", normDuration),
		k(KeyAnswerTimeout, "", "longest silence of an Azure endpoint on one request: no answer, no bytes taken or sent for this long ends the command with exit 1 (default: 60s)", normDuration),
		k(KeyMaxRetryWait, "", "longest wait before a retry; a service asking (Retry-After) for longer fails the call at once (default: 60s)", normDuration),
	}
}

// Lookup returns the key named name.
func Lookup(name string) (KeyInfo, bool) {
	for _, k := range Keys() {
		if k.Name == name {
			return k, true
		}
	}
	return KeyInfo{}, false
}

// Normalize validates value for key and returns its canonical form.
func Normalize(key, value string) (string, error) {
	k, ok := Lookup(key)
	if !ok {
		return "", unknownKey(key)
	}
	return k.normalize(value)
}

func unknownKey(key string) *fault.Error {
	e := fault.New(fault.Usage, "unknown configuration key %q", key)
	if near := Nearest(key); near != "" {
		return e.WithHint("did you mean %q? `pfz config list` shows every key", near)
	}
	return e.WithHint("`pfz config list` shows every key")
}

func normTarget(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case TargetLocal:
		return TargetLocal, nil
	case TargetAzureML:
		return TargetAzureML, nil
	}
	return "", fmt.Errorf("target must be %s or %s, got %q", TargetLocal, TargetAzureML, s)
}

func normCloud(s string) (string, error) {
	for _, c := range []string{CloudPublic, CloudChina, CloudUSGov} {
		if strings.EqualFold(strings.TrimSpace(s), c) {
			return c, nil
		}
	}
	return "", fmt.Errorf("cloud must be %s, %s or %s, got %q", CloudPublic, CloudChina, CloudUSGov, s)
}

func normOutput(s string) (string, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case OutputTable, OutputJSON, OutputYAML:
		return v, nil
	}
	return "", fmt.Errorf("output must be table, json or yaml, got %q", s)
}

func normDuration(s string) (string, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return "", fmt.Errorf("%q is not a positive duration such as 200ms or 5s", s)
	}
	return d.String(), nil
}

func normAuthMode(s string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	for _, m := range auth.Modes {
		if v == m {
			return m, nil
		}
	}
	msg := fmt.Sprintf("auth.mode must be %s, got %q", strings.Join(auth.Modes, ", "), s)
	if near := nearestOf(v, auth.Modes); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return "", errors.New(msg)
}

// normNonEmpty refuses an empty value: it would replace the default with
// nothing rather than restore it.
func normNonEmpty(key string) func(string) (string, error) {
	return func(s string) (string, error) {
		if strings.TrimSpace(s) == "" {
			return "", fmt.Errorf("%s cannot be empty; `pfz config unset %s` restores the default", key, key)
		}
		return s, nil
	}
}

func normURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", s)
	}
	return s, nil
}

func normBlob(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "{account}") {
		return "", fmt.Errorf("blob endpoint %q must contain {account}, e.g. http://127.0.0.1:10000/{account}", s)
	}
	if _, err := normURL(strings.ReplaceAll(s, "{account}", "account")); err != nil {
		return "", err
	}
	return s, nil
}

// cloudEndpoints are the public facts of each sovereign cloud.
func cloudEndpoints(cloud string) (arm, blobSuffix string) {
	switch cloud {
	case CloudChina:
		return "https://management.chinacloudapi.cn/", "core.chinacloudapi.cn"
	case CloudUSGov:
		return "https://management.usgovcloudapi.net/", "core.usgovcloudapi.net"
	}
	return "https://management.azure.com/", "core.windows.net"
}

// Nearest returns the known key closest to name, or "" when none is close,
// by the house's did-you-mean rules.
func Nearest(name string) string {
	names := make([]string, 0, len(Keys()))
	for _, k := range Keys() {
		names = append(names, k.Name)
	}
	return nearestOf(name, names)
}

// nearestOf returns the candidate name is likely a typo of: one it is the
// start of (workspace → workspace_name), or the nearest within an edit
// distance of a third of its length (taget → target), so that a short word
// far from every key (foo) suggests nothing rather than something unrelated.
// It does not take suggest.Closest's containment rule, which would answer
// my_output_dir with output and identity with whichever *-identity mode
// comes first.
func nearestOf(name string, candidates []string) string {
	name = strings.ToLower(name)
	if utf8.RuneCountInString(name) >= 3 {
		for _, c := range candidates {
			if strings.HasPrefix(c, name) {
				return c
			}
		}
	}
	if near := suggest.Nearest(name, candidates, 1, max(utf8.RuneCountInString(name)/3, 1)); len(near) == 1 {
		return near[0]
	}
	return ""
}

// CheckKey returns a usage error, with the nearest key as a hint, when key
// is not a configuration key.
func CheckKey(key string) error {
	if _, ok := Lookup(key); !ok {
		return unknownKey(key)
	}
	return nil
}

// TargetKeys lists the keys the backend of target reads, the target itself
// first; a setting outside them cannot stop a command on that target. An
// unknown target reads every key.
func TargetKeys(target string) []string {
	switch target {
	case TargetLocal:
		return []string{KeyTarget, KeyHome, KeyPython}
	case TargetAzureML:
		return []string{KeyTarget, KeySubscription, KeyResourceGroup, KeyWorkspaceName, KeyCloud, KeyARMEndpoint,
			KeyServiceEndpoint, KeyBlobEndpoint, KeyFileEndpoint, KeyAuthMode, KeyHome, KeyPollInterval,
			KeyConnectTimeout, KeyAnswerTimeout, KeyMaxRetryWait}
	}
	out := make([]string, 0, len(Keys()))
	for _, k := range Keys() {
		out = append(out, k.Name)
	}
	return out
}

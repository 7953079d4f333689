// Package help holds `pfz help`: help for a command, and the help topics
// (exit-codes, environment) that are not commands.
package help

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/config"
)

// Topic is a help page that is not a command.
type Topic struct {
	Name  string
	Short string
	Text  string
}

// Topics returns the help topics in display order.
func Topics() []Topic {
	return []Topic{
		{Name: "environment", Short: "Environment variables pfz reads", Text: environmentText()},
		{Name: "exit-codes", Short: "What pfz's exit codes mean", Text: exitCodesText},
	}
}

// NewCmdHelp returns the help command that also serves the topics.
func NewCmdHelp(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "help [COMMAND | TOPIC]",
		Short: "Help about any command, or a help topic",
		Long: "Help about any command, or one of these topics:\n\n" + topicList() +
			"\nRun `pfz help TOPIC` to read a topic.",
		Example: `  pfz help run create
  pfz help exit-codes
  pfz help environment`,
		Args: cobra.ArbitraryArgs,
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var names []string
			for _, t := range Topics() {
				names = append(names, t.Name)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			if len(args) == 0 {
				return root.Help()
			}
			if len(args) == 1 {
				for _, t := range Topics() {
					if t.Name == args[0] {
						_, err := fmt.Fprint(f.IOStreams.Out, t.Text)
						return err
					}
				}
			}
			target, rest, err := root.Find(args)
			if err != nil || target == nil || len(rest) > 0 && target == root {
				return cmdutil.UsageErrorf(nil, "unknown help topic or command %q", strings.Join(args, " ")).
					WithHint("run `pfz help` for the commands, or one of the topics: %s", topicNames())
			}
			if len(rest) > 0 {
				return cmdutil.UsageErrorf(nil, "unknown command %q for %q", rest[0], target.CommandPath()).
					WithHint("run `%s --help` for its commands", target.CommandPath())
			}
			return target.Help()
		},
	}
	return cmd
}

func topicList() string {
	var b strings.Builder
	for _, t := range Topics() {
		fmt.Fprintf(&b, "  %-12s %s\n", t.Name, t.Short)
	}
	return b.String()
}

func topicNames() string {
	var n []string
	for _, t := range Topics() {
		n = append(n, t.Name)
	}
	return strings.Join(n, ", ")
}

const exitCodesText = `pfz exit codes

  0    success
  1    the operation failed; also a streamed run (run create --stream, run
       stream) that ended Failed or Canceled, with --fail-on-line-errors one
       that ended Completed with failed lines (as in promptflow, failed lines
       do not fail a run), a service or credential that did not answer ("no
       answer from <host> after N s", also when a --timeout passed during
       that silence), and a target or feature that is not available in this
       build
  2    usage or validation error: a bad flag or argument, or errors in the
       flow, run.yml or requirements file (flow validate, run create)
  4    authentication or authorization failed: no credential, an expired
       token, or a missing role on the workspace
  8    a --timeout passed while the work is still running (a session still
       starting, a run still running); the work goes on, follow it again
  130  interrupted (Ctrl-C); remote work keeps running, and pfz says how to
       follow it

Errors are printed on stderr as "error: <message>", followed by
"hint: <what to do>" when there is something to do.
`

// environmentText lists every PFZ_* variable from the configuration keys, so
// the topic cannot fall behind them.
func environmentText() string {
	var b strings.Builder
	b.WriteString(`pfz environment variables

Settings: each configuration key KEY can be set with PFZ_<KEY> (upper case,
"." becomes "_"). Precedence: flag > PFZ_* variable > config file
($PFZ_CONFIG_DIR/config.yaml) > the Azure CLI's defaults > AZUREML_ARM_*
> .azureml/config.json found upward from the working directory > default.
` + "`pfz config list --sources`" + ` shows where each value came from.

`)
	for _, k := range config.Keys() {
		if len(k.Env) > 22 {
			fmt.Fprintf(&b, "  %s\n  %-22s %s\n", k.Env, "", k.Description)
			continue
		}
		fmt.Fprintf(&b, "  %-22s %s\n", k.Env, k.Description)
	}
	fmt.Fprintf(&b, "  %-22s %s\n", config.EnvConfigDir, "folder of config.yaml (default: pfz under the user configuration folder)")
	b.WriteString(`
The workspace as pfazure finds it (below pfz's own settings):

  AZURE_CONFIG_DIR       the Azure CLI's folder (default: ~/.azure): its
                         config file's [defaults] group and workspace (az
                         configure --defaults group=… workspace=…) and the
                         subscription of clouds.config (az account set); they
                         choose the azureml target only when all three are set
  AZUREML_ARM_SUBSCRIPTION, AZUREML_ARM_RESOURCEGROUP, AZUREML_ARM_WORKSPACE_NAME
                         the workspace, as pfazure reads them

Azure credentials (read by the credential chain, see ` + "`pfz auth status`" + `).
With auth.mode default, pfazure's variables choose first:

  AZUREML_OBO_ENABLED    any value: Azure ML's on-behalf-of credential
                         (OBO_ENDPOINT, set on Azure ML compute)
  PF_USE_AZURE_CLI_CREDENTIAL
                         true: the Azure CLI credential
  DEFAULT_IDENTITY_CLIENT_ID
                         a managed identity with this client id
  IS_IN_CI_PIPELINE      true: the Azure CLI credential

Otherwise the chain reads:

  AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
                         a service principal with a secret
  AZURE_CLIENT_CERTIFICATE_PATH, AZURE_CLIENT_CERTIFICATE_PASSWORD
                         a service principal with a certificate
  AZURE_FEDERATED_TOKEN_FILE, AZURE_FEDERATED_TOKEN
                         workload identity: a federated token file, or the
                         token itself (GitLab id_token)
  ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN
                         GitHub Actions OIDC (set by the runner with
                         "permissions: id-token: write")
  IDENTITY_ENDPOINT, IDENTITY_HEADER, MSI_ENDPOINT
                         a managed identity endpoint (Azure compute)

Local target:

  PFZ_PRIVATE_FEED_TOKEN the token (or user:token) that replaces {private} in
                         a requirements line -i https://{private}@<feed>/...
                         at install time; never written to disk or printed
  PFZ_UV                 the uv executable that creates session environments
                         and installs requirements; default: uv on PATH, else
                         uv 0.9.30, which pfz installs once with pip into
                         PFZ_HOME/tools/uv-0.9.30 (hash-checked); "off" for
                         venv and pip. pip is used anyway where uv would
                         install something else: PIP_* settings, a pip.conf,
                         a private feed

  Python workers of a local run inherit the environment except every PFZ_*
  variable and the credentials above (AZURE_CLIENT_SECRET,
  AZURE_CLIENT_CERTIFICATE_PASSWORD, AZURE_FEDERATED_TOKEN(_FILE),
  ACTIONS_ID_TOKEN_REQUEST_*, IDENTITY_HEADER, MSI_SECRET); declare a
  variable a flow needs in environment_variables.

Limits:

  data lines             a .jsonl line over 64 MB is refused with its number
  --data                 a regular file or folder; pipes and devices are
                         refused (exit 2)
  connection names       letters, digits, _ - . (not first), at most 200
                         characters, unique ignoring case

Network (every Azure call: resource manager, the flow service, run history,
blob storage and token requests):

  A connection and a TLS handshake get network.connect_timeout (10s) each; a
  request gets network.answer_timeout (60s) of silence (no answer, no bytes
  taken or sent) and then ends the command with exit 1 and "no answer from
  <host> after N s", without retrying. A failed call is retried at most 3
  times, waiting from 0.8s doubling up to network.max_retry_wait (60s); a
  service asking (Retry-After) for a longer wait fails the call at once,
  saying so. Each credential of the chain gets connect + answer timeout for
  one token (az and azd 10s), and one that hangs is named (exit 1). After 2s
  of silence pfz says on stderr which host and request it waits for. Ctrl-C
  ends every wait (exit 130). A --timeout (run stream, session start) bounds
  the calls in flight too.

  SSL_CERT_FILE          on Linux and other Unix systems, a PEM bundle of CA
                         certificates used instead of the system bundle (add
                         a TLS-inspecting proxy's CA to a copy of it)
  HTTPS_PROXY, NO_PROXY  the proxy to use, and hosts that bypass it

Terminal:

  NO_COLOR               any value turns colour off
  CI                     set (true, 1): no spinners or progress bars; state
                         changes are printed as lines
  TERM                   "dumb" turns colour off

Tests only (read by pfz's test suites, not by pfz):

  PFZ_SHARED             the shared/ folder of conformance data (default:
                         ../shared beside the repository)
  PFZ_TEST_CACHE         where the tests install Azurite (default: the user
                         cache folder)
  PFZ_E2E_BIN            a pfz binary for the e2e suites to drive instead of
                         building one
`)
	return b.String()
}

package cmdutil

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// pfazure's list options take several values after one flag
// (`--column-mapping a=b c=d`, argparse nargs). Cobra has no nargs, so such
// flags are StringArrays marked with these annotations, and ExpandNargs
// rewrites the command line before cobra parses it: every KEY=VALUE token
// that follows the flag becomes its own `--flag=TOKEN`.
const annNargs = "pfz:nargs" // "+" one or more, "*" zero or more

// MarkNargs declares flag name on cmd as taking several values: every word
// after it up to the next flag. With optional true the flag may also stand
// alone (its value is then "").
func MarkNargs(cmd *cobra.Command, name string, optional bool) {
	mode := "+"
	if optional {
		mode = "*"
	}
	_ = cmd.Flags().SetAnnotation(name, annNargs, []string{mode})
}

// ExpandNargs returns args with the values of nargs flags made explicit.
// root finds the command the arguments address; args after "--" are left
// alone.
func ExpandNargs(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if !strings.HasPrefix(a, "--") || len(a) == 2 {
			out = append(out, a)
			continue
		}
		name, value, hasValue := strings.Cut(a[2:], "=")
		fl := cmd.Flags().Lookup(name)
		if fl == nil {
			out = append(out, a)
			continue
		}
		mode := fl.Annotations[annNargs]
		if len(mode) == 0 {
			out = append(out, a)
			continue
		}
		belongs := func(tok string) bool { return nargsValue(fl, tok) }
		switch {
		case hasValue:
			out = append(out, "--"+fl.Name+"="+value)
		case mode[0] == "+" && i+1 < len(args) && args[i+1] != "--":
			i++
			out = append(out, "--"+fl.Name+"="+args[i])
		case mode[0] == "*" && i+1 < len(args) && belongs(args[i+1]):
			i++
			out = append(out, "--"+fl.Name+"="+args[i])
		default:
			// A "+" flag with nothing after it: keep it, pflag reports it.
			if mode[0] == "*" {
				out = append(out, "--"+fl.Name+"=")
			} else {
				out = append(out, a)
			}
			continue
		}
		for i+1 < len(args) && belongs(args[i+1]) {
			i++
			out = append(out, "--"+fl.Name+"="+args[i])
		}
	}
	return out
}

// nargsValue reports whether tok is a further value of fl. As with
// argparse's nargs, every word up to the next flag is one: a word that is not
// KEY=VALUE (nor a declared suffix such as .env) is still the flag's, so its
// parser says what is wrong with it ("--environment-variables expects a .env
// file or KEY=VALUE") rather than the command rejecting a stray argument.
func nargsValue(_ *pflag.Flag, tok string) bool {
	return tok != "" && !strings.HasPrefix(tok, "-")
}

// annPrefix marks commands whose long flags may be abbreviated, as argparse
// (and so pfazure) allows: `--env` for `--environment-variables`.
const annPrefix = "pfz:prefix-flags"

// AllowFlagPrefixes marks cmd for prefix matching; EnableFlagPrefixes wires it
// once the command tree is complete.
func AllowFlagPrefixes(cmd *cobra.Command) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[annPrefix] = "true"
}

// EnableFlagPrefixes installs prefix matching on every marked command under
// root. Call it after the whole tree is built: the candidates are the
// command's own and inherited flags, so a unique prefix of any of them is
// accepted and an exact name always wins.
func EnableFlagPrefixes(root *cobra.Command) {
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Annotations[annPrefix] == "true" {
			names := map[string]bool{"help": true}
			add := func(f *pflag.Flag) { names[f.Name] = true }
			c.LocalFlags().VisitAll(add)
			c.InheritedFlags().VisitAll(add)
			c.Flags().SetNormalizeFunc(prefixNormalizer(names))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func prefixNormalizer(names map[string]bool) func(*pflag.FlagSet, string) pflag.NormalizedName {
	return func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if names[name] {
			return pflag.NormalizedName(name)
		}
		match := ""
		for n := range names {
			if strings.HasPrefix(n, name) {
				if match != "" {
					return pflag.NormalizedName(name) // ambiguous: unknown flag
				}
				match = n
			}
		}
		if match == "" {
			return pflag.NormalizedName(name)
		}
		return pflag.NormalizedName(match)
	}
}

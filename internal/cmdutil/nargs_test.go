package cmdutil

import (
	"slices"
	"testing"

	"github.com/spf13/cobra"
)

// nargsTree builds root → run → create with pfazure-like flags.
func nargsTree() (*cobra.Command, *[]string, *[]string, *[]string, *string) {
	var mapping, env, set []string
	var name string
	root := &cobra.Command{Use: "pfz", SilenceErrors: true, SilenceUsage: true}
	root.PersistentFlags().StringP("output", "o", "table", "")
	run := &cobra.Command{Use: "run"}
	create := &cobra.Command{Use: "create", Args: NoArgs, RunE: func(*cobra.Command, []string) error { return nil }}
	create.Flags().StringArrayVar(&mapping, "column-mapping", nil, "")
	create.Flags().StringArrayVar(&env, "environment-variables", nil, "")
	create.Flags().StringArrayVar(&set, "set", nil, "")
	create.Flags().StringVarP(&name, "name", "n", "", "")
	create.Flags().Bool("stream", false, "")
	create.Flags().String("runtime", "", "")
	create.Flags().String("run", "", "")
	MarkNargs(create, "column-mapping", false)
	MarkNargs(create, "set", false)
	MarkNargs(create, "environment-variables", true)
	AllowFlagPrefixes(create)
	run.AddCommand(create)
	root.AddCommand(run)
	EnableFlagPrefixes(root)
	return root, &mapping, &env, &set, &name
}

func TestExpandNargs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		mapping []string
		env     []string
		set     []string
		runName string
	}{
		{
			name:    "several values after one flag",
			args:    []string{"run", "create", "--column-mapping", "a=${data.a}", "b=1", "--name", "x"},
			mapping: []string{"a=${data.a}", "b=1"}, runName: "x",
		},
		{
			name:    "flag repeated and equals form",
			args:    []string{"run", "create", "--column-mapping=a=1", "b=2", "--column-mapping", "c=3"},
			mapping: []string{"a=1", "b=2", "c=3"},
		},
		{
			name: "optional flag alone before another flag",
			args: []string{"run", "create", "--environment-variables", "--stream"},
			env:  []string{""},
		},
		{
			name: "optional flag alone at the end",
			args: []string{"run", "create", "--environment-variables"},
			env:  []string{""},
		},
		{
			name: "prefix alias and dotenv file",
			args: []string{"run", "create", "--env", "A=1", "x.env", "B=2", "--set", "display_name=d"},
			env:  []string{"A=1", "x.env", "B=2"}, set: []string{"display_name=d"},
		},
		{
			name:    "normal flag value that looks like KEY=VALUE is not absorbed",
			args:    []string{"run", "create", "--name", "a=b", "--set", "x=1"},
			runName: "a=b", set: []string{"x=1"},
		},
		{
			name: "a word without = is still the flag's value, as in argparse",
			args: []string{"run", "create", "--env", "A=1", "foo", "--column-mapping", "a=1", "stray", "--name", "n"},
			env:  []string{"A=1", "foo"}, mapping: []string{"a=1", "stray"}, runName: "n",
		},
		{
			name: "optional flag takes a following word",
			args: []string{"run", "create", "--environment-variables", "prod"},
			env:  []string{"prod"},
		},
		{
			name: "global flag in between",
			args: []string{"run", "create", "-o", "json", "--set", "a=1", "b=2"},
			set:  []string{"a=1", "b=2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, mapping, env, set, name := nargsTree()
			root.SetArgs(ExpandNargs(root, tt.args))
			if err := root.Execute(); err != nil {
				t.Fatalf("execute %q: %v", ExpandNargs(root, tt.args), err)
			}
			if !slices.Equal(*mapping, tt.mapping) {
				t.Errorf("column-mapping = %q, want %q", *mapping, tt.mapping)
			}
			if !slices.Equal(*env, tt.env) {
				t.Errorf("environment-variables = %q, want %q", *env, tt.env)
			}
			if !slices.Equal(*set, tt.set) {
				t.Errorf("set = %q, want %q", *set, tt.set)
			}
			if *name != tt.runName {
				t.Errorf("name = %q, want %q", *name, tt.runName)
			}
		})
	}
}

func TestExpandNargsStopsAtDoubleDash(t *testing.T) {
	root, _, _, _, _ := nargsTree()
	got := ExpandNargs(root, []string{"run", "create", "--set", "a=1", "--", "b=2"})
	want := []string{"run", "create", "--set=a=1", "--", "b=2"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestExtraPositionalIsAnError(t *testing.T) {
	root, _, _, _, _ := nargsTree()
	root.SetArgs(ExpandNargs(root, []string{"run", "create", "--stream", "a=1"}))
	if err := root.Execute(); err == nil {
		t.Fatal("a KEY=VALUE after a boolean flag must be rejected, not silently dropped")
	}
}

func TestFlagPrefixes(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr bool
	}{
		{[]string{"run", "create", "--str"}, false},          // --stream
		{[]string{"run", "create", "--run", "r"}, false},     // exact beats --runtime
		{[]string{"run", "create", "--runt", "x"}, false},    // --runtime
		{[]string{"run", "create", "--ru", "x"}, true},       // ambiguous: run, runtime
		{[]string{"run", "create", "--outp", "json"}, false}, // inherited --output
		{[]string{"run", "create", "--nope"}, true},
	}
	for _, tt := range tests {
		root, _, _, _, _ := nargsTree()
		root.SetArgs(ExpandNargs(root, tt.args))
		err := root.Execute()
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v, wantErr %v", tt.args, err, tt.wantErr)
		}
	}
}

func FuzzExpandNargs(f *testing.F) {
	f.Add("run create --column-mapping a=1 b=2 --env --set x=y")
	f.Add("run create --environment-variables=a=b c.env -- --set")
	f.Add("--set")
	f.Fuzz(func(t *testing.T, line string) {
		root, _, _, _, _ := nargsTree()
		args := splitFields(line)
		got := ExpandNargs(root, args)
		// Expansion never loses or invents a non-flag token.
		if countPlain(got) > countPlain(args) {
			t.Fatalf("expansion invented tokens: %q → %q", args, got)
		}
	})
}

func splitFields(s string) []string {
	var out []string
	cur := ""
	for _, r := range s {
		if r == ' ' {
			if cur != "" {
				out = append(out, cur)
			}
			cur = ""
			continue
		}
		cur += string(r)
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

func countPlain(args []string) int {
	n := 0
	for _, a := range args {
		if len(a) == 0 || a[0] != '-' {
			n++
		}
	}
	return n
}

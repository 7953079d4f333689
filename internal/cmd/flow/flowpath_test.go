package flowcmd

import (
	"context"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/iostreams"
)

// pf's spellings of the flow (`pf flow test --flow DIR`, `pf flow validate
// --source DIR`) are accepted beside the argument; naming two flows is a
// usage error.
func TestFlowNamedAsPfNamesIt(t *testing.T) {
	tests := []struct {
		cmd     string
		args    []string
		want    string
		wantErr bool
	}{
		{cmd: "test", args: nil, want: ""},
		{cmd: "test", args: []string{"./f"}, want: "./f"},
		{cmd: "test", args: []string{"--flow", "./f", "--inputs", "a=1"}, want: "./f"},
		{cmd: "test", args: []string{"./f", "--flow", "./f"}, want: "./f"},
		{cmd: "test", args: []string{"./f", "--flow", "./g"}, wantErr: true},
		{cmd: "validate", args: []string{"--source", "./f"}, want: "./f"},
		{cmd: "validate", args: []string{"./f"}, want: "./f"},
		{cmd: "validate", args: []string{"./g", "--source", "./f"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.cmd+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := cmdutil.New(cmdutil.FactoryOptions{IO: ios})
			var got string
			ran := false
			cmd := NewCmdTest(f, func(_ context.Context, o *TestOptions) error { got, ran = o.Path, true; return nil })
			if tt.cmd == "validate" {
				cmd = NewCmdValidate(f, func(_ context.Context, o *ValidateOptions) error { got, ran = o.Path, true; return nil })
			}
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.wantErr {
				if err == nil || !fault.Is(err, fault.Usage) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				if ran {
					t.Fatal("the command ran with two flows named")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("path = %q, want %q", got, tt.want)
			}
		})
	}
}

package session

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/cmd/flowsession"
	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/workspace"
)

func TestNewCmdStart(t *testing.T) {
	tests := []struct {
		args    []string
		want    flowsession.Settings
		flow    string
		noWait  bool
		timeout time.Duration
		wantErr bool
	}{
		{args: nil, want: flowsession.Settings{ComputeType: "serverless"}, flow: "."},
		{
			args: []string{"--flow", "f", "--vm-size", "Standard_E4ds_v4", "--idle-time", "3h", "--identity", "managed:abc", "--no-wait", "--timeout", "20m"},
			want: flowsession.Settings{ComputeType: "serverless", VMSize: "Standard_E4ds_v4", IdleTime: 3 * time.Hour,
				Identity: &workspace.Identity{Type: "managed", ClientID: "abc"}},
			flow: "f", noWait: true, timeout: 20 * time.Minute,
		},
		{
			args: []string{"--compute-type", "compute-instance", "--compute", "ci-1", "--idle-time", "30m"},
			want: flowsession.Settings{ComputeType: "compute-instance", Compute: "ci-1", IdleTime: 30 * time.Minute}, flow: ".",
		},
		{ // --compute implies the compute type, as run create infers it from resources.compute
			args: []string{"--compute", "ci-1"},
			want: flowsession.Settings{ComputeType: "compute-instance", Compute: "ci-1"}, flow: ".",
		},
		{args: []string{"--compute-type", "serverless", "--compute", "ci-1"}, wantErr: true},
		{args: []string{"--compute", "ci-1", "--vm-size", "Standard_E4ds_v4"}, wantErr: true},
		{args: []string{"--compute-type", "gpu"}, wantErr: true},
		{args: []string{"--compute-type", "compute-instance", "--compute", "c", "--identity", "user"}, wantErr: true},
		{args: []string{"--timeout", "0s"}, wantErr: true},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		f := cmdutil.New(cmdutil.FactoryOptions{IO: ios})
		var got *StartOptions
		cmd := NewCmdStart(f, func(_ context.Context, o *StartOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err %v", tt.args, err)
			continue
		}
		if err != nil {
			continue
		}
		if diff := cmp.Diff(tt.want, got.Settings); diff != "" {
			t.Errorf("%q settings (-want +got):\n%s", tt.args, diff)
		}
		if got.FlowDir != tt.flow || got.Wait.NoWait != tt.noWait || got.Wait.Timeout != tt.timeout {
			t.Errorf("%q: flow %q wait %+v", tt.args, got.FlowDir, got.Wait)
		}
	}
}

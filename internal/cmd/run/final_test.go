package run

import (
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// A run whose lines fail ends Completed (as in promptflow); only
// --fail-on-line-errors turns that into exit code 1.
func TestFinalStatusError(t *testing.T) {
	tests := []struct {
		status      string
		failed      int64
		failOnLines bool
		wantCode    int
	}{
		{workspace.RunCompleted, 0, false, 0},
		{workspace.RunCompleted, 2, false, 0},
		{workspace.RunCompleted, 0, true, 0},
		{workspace.RunCompleted, 2, true, 1},
		{workspace.RunFailed, 0, false, 1},
		{workspace.RunCanceled, 0, true, 1},
	}
	for _, tt := range tests {
		r := &workspace.Run{Name: "r", Status: tt.status, LinesTotal: 3, LinesFailed: tt.failed}
		err := finalStatusError(r, tt.failOnLines)
		code := 0
		if err != nil {
			code = fault.KindOf(err).ExitCode()
		}
		if code != tt.wantCode {
			t.Errorf("%s with %d failed lines, --fail-on-line-errors=%v: exit %d (%v), want %d", tt.status, tt.failed, tt.failOnLines, code, err, tt.wantCode)
		}
	}
}

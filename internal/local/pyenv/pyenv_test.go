package pyenv

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
)

func TestSummaryPrefersPipErrors(t *testing.T) {
	var tb tailBuffer
	_, _ = tb.Write([]byte("Looking in indexes: http://127.0.0.1/simple\nCollecting x\n  Downloading x.whl\nERROR: Could not find a version that satisfies the requirement y\nERROR: No matching distribution found for y"))
	got := tb.summary()
	want := "ERROR: Could not find a version that satisfies the requirement y\nERROR: No matching distribution found for y"
	if got != want {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}

	var plain tailBuffer
	for i := range 60 {
		_, _ = plain.Write([]byte("line " + string(rune('a'+i%26)) + "\r\n"))
	}
	if got := plain.summary(); strings.Count(got, "\n") != 2 || strings.Contains(got, "\r") {
		t.Errorf("without ERROR lines the summary is the last three lines: %q", got)
	}
	var empty tailBuffer
	if empty.summary() != "no output" {
		t.Error("empty summary")
	}
}

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{"3.11.7": true, "3.8.0": true, "4.0.0": true, "3.7.17": false, "2.7.18": false, "garbage": false} {
		err := checkVersion("py", v)
		if (err == nil) != ok {
			t.Errorf("checkVersion(%s) = %v", v, err)
		}
		if err != nil && !strings.Contains(fault.HintOf(err), "PFZ_PYTHON") {
			t.Errorf("hint %q", fault.HintOf(err))
		}
	}
}

func TestInterpreterNotFound(t *testing.T) {
	r := &Runner{Python: filepath.Join(t.TempDir(), "python9")}
	_, err := r.Interpreter()
	if err == nil || !strings.Contains(err.Error(), "PFZ_PYTHON") || !strings.Contains(fault.HintOf(err), "PFZ_PYTHON=") {
		t.Errorf("got %v (hint %q)", err, fault.HintOf(err))
	}
	if _, err := r.Create(context.Background(), t.TempDir(), nil); err == nil {
		t.Error("Create without an interpreter succeeded")
	}
}

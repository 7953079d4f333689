package local

import (
	"os"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/need"
)

// A build log whose writes fail (a full disk) must not pass for a whole log:
// Close reports the first failed write, and closeLog turns the operation's
// success into an error naming the log.
func TestLogSinkReportsFailedWrites(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		need.Missing(t, "no /dev/full on this system: %v", err)
	}
	lg := &logSink{file: f, path: "/dev/full"}
	if _, err := lg.Write([]byte("Collecting six\nInstalling\n")); err != nil {
		t.Fatalf("Write: %v (pip's output must keep flowing)", err)
	}
	var opErr error
	closeLog(lg, &opErr)
	if opErr == nil || !strings.Contains(opErr.Error(), "could not be written whole") {
		t.Fatalf("closeLog: %v, want the failed log write reported", opErr)
	}
}

func TestLogSinkWholeLogIsNoError(t *testing.T) {
	p := t.TempDir() + "/start.log"
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	lg := &logSink{file: f, path: p, secrets: []string{"s3cr3t"}}
	if _, err := lg.Write([]byte("token s3cr3t\nlast line without newline")); err != nil {
		t.Fatal(err)
	}
	var opErr error
	closeLog(lg, &opErr)
	if opErr != nil {
		t.Fatalf("closeLog: %v", opErr)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "token ******\nlast line without newline\n"; got != want {
		t.Fatalf("log = %q, want %q", got, want)
	}
}

package atomicfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pfz-cli/pfz/internal/atomicfile"
	"github.com/pfz-cli/pfz/internal/testutil/tmpfs"
)

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "x.json")
	if err := atomicfile.WriteJSON(p, map[string]int{"a": 1}, atomicfile.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteJSON(p, map[string]int{"a": 2}, atomicfile.Options{Perm: 0o644}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "{\n  \"a\": 2\n}\n" {
		t.Fatalf("got %q", got)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", st.Mode())
	}
	assertNoTemp(t, filepath.Dir(p))
}

// A value that cannot be encoded is an error and never an empty file.
func TestWriteJSONEncodeError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := atomicfile.WriteJSON(p, map[string]any{"f": func() {}}, atomicfile.Options{})
	var ae *atomicfile.Error
	if !errors.As(err, &ae) || ae.Op != "encode" {
		t.Fatalf("err = %v, want an encode error", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Fatalf("file changed to %q", got)
	}
}

// On a real full disk the write fails with ENOSPC, the old file stays whole
// and no temp file is left.
func TestWriteFullDisk(t *testing.T) {
	dir := tmpfs.Mount(t, 256<<10)
	p := filepath.Join(dir, "state.json")
	if err := atomicfile.Write(p, []byte("old"), atomicfile.Options{}); err != nil {
		t.Fatal(err)
	}
	tmpfs.Fill(t, dir, 8<<10)
	err := atomicfile.Write(p, make([]byte, 64<<10), atomicfile.Options{})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want ENOSPC", err)
	}
	if !strings.Contains(err.Error(), p) {
		t.Fatalf("error %q does not name %s", err, p)
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Fatalf("old file damaged: %q", got)
	}
	assertNoTemp(t, dir)
}

func TestTempPID(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{".x.json.tmp-123-456", 123, true},
		{".a.tmp-b.tmp-77-9", 77, true},
		{"x.json", 0, false},
		{".x.tmp-abc-1", 0, false},
	} {
		pid, ok := atomicfile.TempPID(tc.name)
		if pid != tc.pid || ok != tc.ok {
			t.Errorf("TempPID(%q) = %d, %v; want %d, %v", tc.name, pid, ok, tc.pid, tc.ok)
		}
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if atomicfile.IsTemp(e.Name()) {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
}

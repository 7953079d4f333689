package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/need"
)

// stage makes a staged folder beside dest holding one file with content.
func stage(t *testing.T, dest, content string) string {
	t.Helper()
	tmp, err := StageDir(dest, "run")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "f"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return tmp
}

func content(t *testing.T, dest string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dest, "f"))
	if err != nil {
		t.Fatalf("dest: %v", err)
	}
	return string(b)
}

// names lists the parent's entries other than dest.
func others(t *testing.T, dest string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dest))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Name() != filepath.Base(dest) {
			out = append(out, e.Name())
		}
	}
	return out
}

var noExchange = func(a, b string) error { return errNoExchange }

// Both ways (the one-step swap and renaming aside) put the new folder in
// place and leave nothing beside it.
func TestReplaceDir(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  dirOps
	}{
		{"platform", osDirs},
		{"aside", dirOps{exchange: noExchange, rename: os.Rename, removeAll: os.RemoveAll}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "run")
			for i, c := range []string{"one", "two", "three"} {
				if err := tc.ops.replace(stage(t, dest, c), dest); err != nil {
					t.Fatalf("replace %d: %v", i, err)
				}
				if got := content(t, dest); got != c {
					t.Fatalf("dest holds %q, want %q", got, c)
				}
				if o := others(t, dest); len(o) != 0 {
					t.Fatalf("left beside dest: %v", o)
				}
			}
		})
	}
}

// On Linux the swap is one step: a reader never finds dest missing while it
// is replaced over and over.
func TestReplaceDirNeverMissing(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "run")
	if err := ReplaceDir(stage(t, dest, "0"), dest); err != nil {
		t.Fatal(err)
	}
	if err := exchange(stage(t, dest, "probe"), dest); errors.Is(err, errNoExchange) {
		need.ByDesign(t, "no one-step swap on this platform or file system: dest is briefly missing during a replace (documented)")
	} else if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var missing atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if _, err := os.Stat(filepath.Join(dest, "f")); err != nil {
				missing.Add(1)
			}
		}
	}()
	for i := range 200 {
		if err := ReplaceDir(stage(t, dest, "x"), dest); err != nil {
			t.Fatalf("replace %d: %v", i, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if n := missing.Load(); n != 0 {
		t.Errorf("a reader found dest missing %d times", n)
	}
}

// When the old folder cannot be removed, the new one is in place all the
// same, the error says what is left, and the next replace removes it.
func TestReplaceDirRemoveFails(t *testing.T) {
	for _, tc := range []struct {
		name     string
		exchange func(a, b string) error
	}{{"platform", exchange}, {"aside", noExchange}} {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "run")
			if err := ReplaceDir(stage(t, dest, "old"), dest); err != nil {
				t.Fatal(err)
			}
			boom := errors.New("device busy")
			failing := dirOps{exchange: tc.exchange, rename: os.Rename, removeAll: func(string) error { return boom }}
			err := failing.replace(stage(t, dest, "new"), dest)
			var ae *Error
			if !errors.Is(err, boom) || !errors.As(err, &ae) || ae.Op != "remove" {
				t.Fatalf("err = %v, want the remove error", err)
			}
			if got := content(t, dest); got != "new" {
				t.Fatalf("dest holds %q, want the new folder", got)
			}
			left := others(t, dest)
			if len(left) != 1 || !strings.HasPrefix(left[0], ".run.old-") || !strings.Contains(err.Error(), left[0]) {
				t.Fatalf("left %v; error %q should name the one old folder", left, err)
			}
			if got := content(t, filepath.Join(filepath.Dir(dest), left[0])); got != "old" {
				t.Fatalf("the folder left aside holds %q", got)
			}
			// The next replace (removal working again) cleans it up.
			if err := ReplaceDir(stage(t, dest, "newer"), dest); err != nil {
				t.Fatal(err)
			}
			if o := others(t, dest); len(o) != 0 || content(t, dest) != "newer" {
				t.Fatalf("after the next replace: left %v, dest %q", o, content(t, dest))
			}
		})
	}
}

// A failed rename in puts the old folder back; an old folder left aside by a
// crash (dest missing) is kept until a replace succeeds.
func TestReplaceDirFailureKeepsOld(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "run")
	aside := dirOps{exchange: noExchange, rename: os.Rename, removeAll: os.RemoveAll}
	if err := aside.replace(stage(t, dest, "old"), dest); err != nil {
		t.Fatal(err)
	}
	missingTmp := filepath.Join(filepath.Dir(dest), ".run.download-gone")
	if err := aside.replace(missingTmp, dest); err == nil {
		t.Fatal("replacing with a missing folder succeeded")
	}
	if got := content(t, dest); got != "old" || len(others(t, dest)) != 0 {
		t.Fatalf("dest %q, beside it %v: want the old folder back in place", got, others(t, dest))
	}

	// A crash between the two renames: dest missing, the old one aside.
	crashed := filepath.Join(filepath.Dir(dest), ".run.old-0123456789ab")
	if err := os.Rename(dest, crashed); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceDir(missingTmp, dest); err == nil {
		t.Fatal("replacing with a missing folder succeeded")
	}
	if got := content(t, crashed); got != "old" {
		t.Fatalf("the old folder aside was lost: %q", got)
	}
	if err := ReplaceDir(stage(t, dest, "new"), dest); err != nil {
		t.Fatal(err)
	}
	if o := others(t, dest); len(o) != 0 || content(t, dest) != "new" {
		t.Fatalf("left %v, dest %q", o, content(t, dest))
	}
}

// Only dest's own old folders are removed, not a neighbour's or the user's.
func TestReplaceDirSweepsOnlyItsOwn(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "run")
	// A neighbour's, a staging folder, and the user's own folders that only
	// start like an old one (not the prefix and 12 lower-case hex digits).
	keep := []string{".other.old-y", ".run.download-live", ".run.old-0123456789AB", ".run.old-notes", ".run2.old-x"} // as ReadDir sorts them
	for _, k := range keep {
		if err := os.Mkdir(filepath.Join(parent, k), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(parent, ".run.old-00aa00aa00aa"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceDir(stage(t, dest, "new"), dest); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(others(t, dest), " "); got != strings.Join(keep, " ") {
		t.Errorf("beside dest: %s, want %s", got, strings.Join(keep, " "))
	}
}

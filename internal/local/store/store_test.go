package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/atomicfile"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/testutil/need"
)

// The test binary doubles as a helper process: with PFZ_STORE_HELPER set it
// runs one helper job instead of the tests, so the tests can use real
// concurrent processes and kill them at will.
func TestMain(m *testing.M) {
	switch os.Getenv("PFZ_STORE_HELPER") {
	case "":
		os.Exit(m.Run())
	case "increment":
		n, _ := strconv.Atoi(os.Getenv("PFZ_STORE_N"))
		if err := increment(os.Getenv("PFZ_STORE_HOME"), n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "rewrite":
		// Rewrite a large file forever until killed.
		path := os.Getenv("PFZ_STORE_FILE")
		fmt.Println("ready")
		for i := 0; ; i++ {
			if err := WriteJSON(path, bigDoc(i), 0o600); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
	os.Exit(2)
}

type counter struct {
	N       int      `json:"n"`
	Writers []string `json:"writers"`
}

// increment adds n to the counter under the entity lock, each time with a
// fresh Store handle, like separate pfz commands would.
func increment(home string, n int) error {
	for range n {
		s, err := New(home)
		if err != nil {
			return err
		}
		l, err := s.Lock(context.Background(), Runs, "counter")
		if err != nil {
			return err
		}
		p := filepath.Join(s.RunDir("counter"), "c.json")
		var c counter
		if err := ReadJSON(p, &c); err != nil && !errors.Is(err, ErrNotExist) {
			_ = l.Unlock()
			return err
		}
		c.N++
		if err := WriteJSON(p, c, 0o600); err != nil {
			_ = l.Unlock()
			return err
		}
		if err := l.Unlock(); err != nil {
			return err
		}
	}
	return nil
}

type doc struct {
	Gen  int      `json:"gen"`
	Rows []string `json:"rows"`
}

func bigDoc(gen int) doc {
	d := doc{Gen: gen}
	for i := range 2000 {
		d.Rows = append(d.Rows, fmt.Sprintf("generation %d row %d", gen, i))
	}
	return d
}

func TestWriteReadJSON(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "x.json")
	in := doc{Gen: 3, Rows: []string{"a"}}
	if err := WriteJSON(p, in, 0o600); err != nil {
		t.Fatal(err)
	}
	var out doc
	if err := ReadJSON(p, &out); err != nil {
		t.Fatal(err)
	}
	if out.Gen != 3 || len(out.Rows) != 1 {
		t.Fatalf("read back %+v", out)
	}
	if runtime.GOOS != "windows" {
		st, _ := os.Stat(p)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", st.Mode().Perm())
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("folder holds %d files after a write, want only x.json", len(ents))
	}
	if err := ReadJSON(filepath.Join(dir, "missing.json"), &out); !errors.Is(err, ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

func TestReadJSONCorrupt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(p, []byte(`{"gen": 1, "rows": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out doc
	err := ReadJSON(p, &out)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Path != p {
		t.Fatalf("got %v, want a CorruptError naming %s", err, p)
	}
	if fault.HintOf(err) == "" {
		t.Error("a damaged file needs a hint")
	}
}

func TestInterruptedWriteKeepsOldFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.json")
	if err := WriteJSON(p, doc{Gen: 1}, 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("killed before the rename")
	data, _ := json.Marshal(doc{Gen: 2})
	var tmpSeen string
	err := writeFile(p, data, 0o600, func(tmp string) error {
		tmpSeen = tmp
		if _, err := os.Stat(tmp); err != nil {
			t.Errorf("temp file missing before the rename: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	var out doc
	if err := ReadJSON(p, &out); err != nil || out.Gen != 1 {
		t.Fatalf("old file not intact: %+v, %v", out, err)
	}
	if _, err := os.Stat(tmpSeen); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp file %s left behind", tmpSeen)
	}
}

func TestKilledWriterLeavesValidFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		need.ByDesign(t, "uses SIGKILL, which Windows lacks")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "big.json")
	if err := WriteJSON(p, bigDoc(-1), 0o600); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "PFZ_STORE_HELPER=rewrite", "PFZ_STORE_FILE="+p)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		if _, err := out.Read(buf); err != nil {
			t.Fatal(err)
		}
		// Let it write a varying number of times, then kill it mid-stream.
		time.Sleep(time.Duration(5+round*7) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()

		var d doc
		if err := ReadJSON(p, &d); err != nil {
			t.Fatalf("round %d: file damaged after kill: %v", round, err)
		}
		if len(d.Rows) != 2000 {
			t.Fatalf("round %d: partial document with %d rows", round, len(d.Rows))
		}
		if _, err := CleanTemp(dir, time.Now()); err != nil {
			t.Fatal(err)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Fatalf("round %d: CleanTemp left %v", round, names)
		}
	}
}

func TestCleanTemp(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dead := write(".session.json" + atomicfile.TempMarker + strconv.Itoa(math.MaxInt32) + "-123")
	mine := write(".session.json" + atomicfile.TempMarker + strconv.Itoa(os.Getpid()) + "-456")
	garbled := write(".session.json" + atomicfile.TempMarker + "notapid")
	keep := write("session.json")
	keepDot := write(".hidden")

	removed, err := CleanTemp(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{dead: true, garbled: true}
	if len(removed) != len(want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	for _, r := range removed {
		if !want[r] {
			t.Errorf("removed %s", r)
		}
	}
	for _, p := range []string{mine, keep, keepDot} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s should stay: %v", p, err)
		}
	}
	// A live pid's temp file from long ago belongs to a reused pid.
	removed, _ = CleanTemp(dir, time.Now().Add(2*staleAfter))
	if len(removed) != 1 || removed[0] != mine {
		t.Errorf("old temp of a live pid: removed %v, want %s", removed, mine)
	}
}

func TestRecoverWalksEntityFolders(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stale := ".x.json" + atomicfile.TempMarker + strconv.Itoa(math.MaxInt32) + "-1"
	var paths []string
	for _, d := range []string{s.SessionDir("abc"), s.RunDir("r1"), s.ComputeDir("c1"), s.ConnectionsDir()} {
		if err := EnsureDir(d); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, stale)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	removed, err := s.Recover(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != len(paths) {
		t.Fatalf("removed %v, want %v", removed, paths)
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"abc123", true},
		{"run_2024-01-01", true},
		{"", false},
		{".", false},
		{"..", false},
		{".hidden", false},
		{"a/b", false},
		{`a\b`, false},
		{"a:b", false},
		{"tab\there", false},
		{strings.Repeat("x", 201), false},
	}
	for _, tt := range tests {
		err := CheckName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && fault.KindOf(err) != fault.Usage {
			t.Errorf("CheckName(%q): kind %v, want Usage", tt.name, fault.KindOf(err))
		}
	}
}

func TestLockIsExclusiveAcrossHandles(t *testing.T) {
	home := t.TempDir()
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- increment(home, each)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	assertCount(t, home, workers*each)
}

func TestLockIsExclusiveAcrossProcesses(t *testing.T) {
	home := t.TempDir()
	const procs, each = 3, 20
	var cmds []*exec.Cmd
	for range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "PFZ_STORE_HELPER=increment", "PFZ_STORE_HOME="+home, "PFZ_STORE_N="+strconv.Itoa(each))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	// This process joins in too.
	if err := increment(home, each); err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
	}
	assertCount(t, home, (procs+1)*each)
}

func assertCount(t *testing.T, home string, want int) {
	t.Helper()
	var c counter
	if err := ReadJSON(filepath.Join(home, "runs", "counter", "c.json"), &c); err != nil {
		t.Fatal(err)
	}
	if c.N != want {
		t.Fatalf("counter = %d, want %d: a lock let two writers in", c.N, want)
	}
}

func TestLockWaitEndsWithContext(t *testing.T) {
	s, _ := New(t.TempDir())
	held, err := s.Lock(context.Background(), Sessions, "x")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = s.Lock(ctx, Sessions, "x")
	if fault.KindOf(err) != fault.Timeout {
		t.Fatalf("got %v (kind %v), want a Timeout fault", err, fault.KindOf(err))
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = s.Lock(ctx2, Sessions, "x")
	if fault.KindOf(err) != fault.Interrupted {
		t.Fatalf("got %v, want Interrupted", err)
	}
	if _, ok, _ := s.TryLock(Sessions, "x"); ok {
		t.Fatal("TryLock took a held lock")
	}
	_ = held.Unlock()
	l, ok, err := s.TryLock(Sessions, "x")
	if err != nil || !ok {
		t.Fatalf("TryLock after unlock: %v %v", ok, err)
	}
	_ = l.Unlock()
	if _, err := s.Lock(context.Background(), Sessions, "../escape"); err == nil {
		t.Fatal("a bad name was locked")
	}
}

func TestUseLocks(t *testing.T) {
	s, _ := New(t.TempDir())
	ctx := context.Background()
	a, err := s.Use(ctx, Sessions, "x")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Use(ctx, Sessions, "x")
	if err != nil {
		t.Fatal("two users should share:", err)
	}
	if _, ok, _ := s.TryExclusiveUse(Sessions, "x"); ok {
		t.Fatal("exclusive use taken while in use")
	}
	_ = a.Unlock()
	if _, ok, _ := s.TryExclusiveUse(Sessions, "x"); ok {
		t.Fatal("exclusive use taken while one user remains")
	}
	_ = b.Unlock()
	x, ok, err := s.TryExclusiveUse(Sessions, "x")
	if err != nil || !ok {
		t.Fatalf("exclusive use of an unused entity: %v %v", ok, err)
	}
	_ = x.Unlock()
}

func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Error("this process is not alive?")
	}
	if Alive(math.MaxInt32) || Alive(0) || Alive(-1) {
		t.Error("impossible pids reported alive")
	}
}

func TestListSkipsFilesAndBadNames(t *testing.T) {
	s, _ := New(t.TempDir())
	for _, n := range []string{"b", "a"} {
		_ = EnsureDir(s.SessionDir(n))
	}
	_ = os.WriteFile(filepath.Join(s.KindDir(Sessions), "file"), nil, 0o600)
	_ = EnsureDir(filepath.Join(s.KindDir(Sessions), ".hidden"))
	got, err := s.List(Sessions)
	if err != nil || strings.Join(got, ",") != "a,b" {
		t.Fatalf("List = %v, %v", got, err)
	}
	if got, err := s.List(Runs); err != nil || got != nil {
		t.Fatalf("empty kind = %v, %v", got, err)
	}
}

func TestDiscardAndTrashRecovery(t *testing.T) {
	s, _ := New(t.TempDir())
	dir := s.SessionDir("gone")
	if err := EnsureDir(filepath.Join(dir, "env", "lib")); err != nil {
		t.Fatal(err)
	}
	ro := filepath.Join(dir, "env", "lib", "ro.txt")
	_ = os.WriteFile(ro, []byte("x"), 0o400)
	_ = os.Chmod(filepath.Join(dir, "env", "lib"), 0o500)
	if err := s.Discard(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("folder still there")
	}
	if err := s.Discard(dir); err != nil {
		t.Fatalf("discarding a missing folder: %v", err)
	}
	// A removal killed halfway leaves trash; Recover deletes it.
	left := filepath.Join(s.Home(), "trash", "gone-1-2", "env")
	_ = EnsureDir(left)
	removed, err := s.Recover(time.Now())
	if err != nil || len(removed) != 1 {
		t.Fatalf("Recover removed %v, %v", removed, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Home(), "trash")); len(ents) != 0 {
		t.Fatalf("trash not emptied: %d entries", len(ents))
	}
}

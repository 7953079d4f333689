//go:build linux

package executor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/executor/pyruntime"
)

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// A worker that cannot get its pipes (a real descriptor limit, hit at each
// of the eight pipe ends in turn) leaves no descriptor open (issue 9,
// item 13: a failed StdoutPipe/StderrPipe leaked four). The limit is set in
// a child test process, so the rest of the suite keeps its descriptors.
func TestStartWorkerLeaksNoDescriptors(t *testing.T) {
	if os.Getenv("PFZ_FD_HELPER") == "1" {
		fdHelper(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStartWorkerLeaksNoDescriptors$", "-test.v")
	cmd.Env = append(os.Environ(), "PFZ_FD_HELPER=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "fd-helper: ") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
}

func fdHelper(t *testing.T) {
	rt, err := pyruntime.Install(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := PoolConfig{Python: filepath.Join(t.TempDir(), "no-python"), Dir: t.TempDir(), StartTimeout: time.Second}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	failures := 0
	for extra := 0; extra <= 9; extra++ {
		before := openFDs(t)
		// New descriptors take the lowest free numbers: a limit just above
		// the extra-th free number leaves room for exactly that many.
		ents, _ := os.ReadDir("/proc/self/fd")
		open := map[int]bool{}
		for _, e := range ents {
			if n, err := strconv.Atoi(e.Name()); err == nil {
				open[n] = true
			}
		}
		limit, free := 0, 0
		for ; ; limit++ {
			if !open[limit] {
				if free == extra {
					break
				}
				free++
			}
		}
		lim := syscall.Rlimit{Cur: uint64(limit), Max: old.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
		_, serr := startWorker(context.Background(), cfg, rt)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Fatal(err)
		}
		if serr == nil {
			t.Fatalf("extra %d: a worker started with no python", extra)
		}
		if strings.Contains(serr.Error(), "pipes") {
			failures++
		}
		if after := openFDs(t); after != before {
			t.Errorf("extra %d (%v): %d descriptors open before, %d after", extra, serr, before, after)
		}
	}
	if failures < 4 {
		t.Fatalf("only %d attempts failed at the pipes: the limit did not bite", failures)
	}
	t.Logf("fd-helper: %d pipe failures, no descriptor leaked", failures)
}

// A worker that finishes starting while the pool closes is stopped, not
// left running (issue 9, item 13). The python is a wrapper that takes half
// a second to start, so Close lands inside spawn.
func TestSpawnRacingCloseStopsTheWorker(t *testing.T) {
	py := testPython(t)
	dir := t.TempDir()
	slow := filepath.Join(dir, "slow-python")
	writeFiles(t, dir, map[string]string{"slow-python": "#!/bin/sh\nsleep 0.5\nexec " + py + " \"$@\"\n"})
	if err := os.Chmod(slow, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := NewPool(context.Background(), PoolConfig{Python: py, Dir: dir, Env: os.Environ(), RuntimeDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	p.cfg.Python = slow
	type result struct {
		w   *worker
		err error
	}
	done := make(chan result, 1)
	go func() {
		w, err := p.spawn(context.Background())
		done <- result{w, err}
	}()
	time.Sleep(150 * time.Millisecond) // spawn is inside startWorker now
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err == nil {
		t.Fatalf("spawn returned a worker (pid %d) from a closed pool", r.w.pid)
	}
	// Every python the pool started has exited.
	out, _ := exec.Command("pgrep", "-f", filepath.Join(p.rt.Worker)).Output()
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		if pid > 0 && syscall.Kill(pid, 0) == nil {
			t.Errorf("worker pid %d still runs after Close", pid)
		}
	}
}

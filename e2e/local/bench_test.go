package local_test

// BenchmarkFlowTestFirstOutput measures `pfz flow test` on a running
// session, as a user runs it: a new pfz process resolves the flow, checks
// the session, starts one python worker, runs the line and prints the
// outputs. Run it alone:
//
//	go test -run '^$' -bench '^BenchmarkFlowTestFirstOutput$' -benchtime 20x ./e2e/local/
//
// ms/first-output is from the process start to the first byte on stdout
// (the outputs document); ms/command to its exit; cpu-ms/command the user
// and system CPU time of pfz and the python worker it waited for, which
// bounds the wall time on an idle machine from below.

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/testutil/need"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

func BenchmarkFlowTestFirstOutput(b *testing.B) {
	if suite.buildErr != nil {
		b.Fatal(suite.buildErr)
	}
	if suite.python != "" {
		need.Missing(b, "%s", suite.python)
	}
	suite.sharedOnce.Do(func() { suite.sharedHome, suite.sharedErr = makeSharedHome() })
	if suite.sharedErr != nil {
		b.Fatal(suite.sharedErr)
	}
	ex := filepath.Join(shared.RepoRoot(), "examples")
	env := append(cleanEnv(),
		"PFZ_HOME="+suite.sharedHome, "PFZ_CONFIG_DIR="+filepath.Join(suite.tmp, "shared-config"),
		"HOME="+filepath.Join(suite.tmp, "shared-userhome"), "NO_COLOR=1",
		"PIP_INDEX_URL="+suite.public.URL(), "PIP_CONFIG_FILE="+os.DevNull, "PIP_NO_INPUT=1", "PFZ_UV=off")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"dag-hello-python", []string{"flow", "test", filepath.Join(ex, "hello-python"), "--inputs", "name=Ada"}},
		{"flex-grader", []string{"flow", "test", filepath.Join(ex, "flex-grader"), "--inputs", "answer=a", "expected=A"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			run := func() (first, total, cpu time.Duration) {
				cmd := exec.CommandContext(context.Background(), suite.bin, tc.args...)
				cmd.Env = env
				out, err := cmd.StdoutPipe()
				if err != nil {
					b.Fatal(err)
				}
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				start := time.Now()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				one := make([]byte, 1)
				if _, err := io.ReadFull(out, one); err != nil {
					b.Fatalf("no output: %v\n%s", err, stderr.String())
				}
				first = time.Since(start)
				_, _ = io.Copy(io.Discard, out)
				if err := cmd.Wait(); err != nil {
					b.Fatalf("pfz %v: %v\n%s", tc.args, err, stderr.String())
				}
				total = time.Since(start)
				return first, total, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			run() // the session is started (and, for the flex example, created) untimed
			b.ResetTimer()
			var first, total, cpu time.Duration
			for i := 0; i < b.N; i++ {
				f, t, c := run()
				first += f
				total += t
				cpu += c
			}
			b.ReportMetric(float64(first.Microseconds())/1000/float64(b.N), "ms/first-output")
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/command")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/command")
		})
	}
}

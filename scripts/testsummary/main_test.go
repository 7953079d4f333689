package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/need"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		code     int
		want     []string
		wantNone []string
		once     string // appears exactly once
		ci       bool
	}{
		{
			name: "skips listed with their reasons, grouped",
			in: `{"Action":"start","Package":"example.com/m/a"}
{"Action":"run","Package":"example.com/m/a","Test":"TestOK"}
{"Action":"output","Package":"example.com/m/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"example.com/m/a","Test":"TestOK"}
{"Action":"run","Package":"example.com/m/a","Test":"TestPy"}
{"Action":"output","Package":"example.com/m/a","Test":"TestPy","Output":"=== RUN   TestPy\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestPy","Output":"    a_test.go:9: SKIPPED LOUDLY: python3 is missing\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestPy","Output":"--- SKIP: TestPy (0.00s)\n"}
{"Action":"skip","Package":"example.com/m/a","Test":"TestPy"}
{"Action":"skip","Package":"example.com/m/a","Test":"TestT/1"}
{"Action":"skip","Package":"example.com/m/a","Test":"TestT/2"}
{"Action":"skip","Package":"example.com/m/a","Test":"TestT/3"}
{"Action":"skip","Package":"example.com/m/a","Test":"TestT/4"}
{"Action":"output","Package":"example.com/m/a","Output":"ok  \texample.com/m/a\t(cached)\n"}
{"Action":"pass","Package":"example.com/m/a","Elapsed":0.5}
{"Action":"skip","Package":"example.com/m/b"}
`,
			code: 0,
			want: []string{
				"ok  \texample.com/m/a\t0.500s (cached)\n",
				"?   \texample.com/m/b\t[no test files]\n",
				"1 tests passed, 0 failed, 5 skipped\n",
				"  example.com/m/a TestPy: a_test.go:9: SKIPPED LOUDLY: python3 is missing\n",
				"  example.com/m/a TestT/1, TestT/2, TestT/3 and 1 more: (no reason given)\n",
			},
			wantNone: []string{"=== RUN", "--- SKIP"},
		},
		{
			name: "CI=true: a skip by design is listed apart and passes",
			ci:   true,
			in: `{"Action":"start","Package":"example.com/m/a"}
{"Action":"run","Package":"example.com/m/a","Test":"TestRoot"}
{"Action":"output","Package":"example.com/m/a","Test":"TestRoot","Output":"    a_test.go:20: SKIPPED BY DESIGN: running as root\n"}
{"Action":"skip","Package":"example.com/m/a","Test":"TestRoot"}
{"Action":"pass","Package":"example.com/m/a","Elapsed":0.5}
`,
			code: 0,
			want: []string{"0 tests passed, 0 failed, 1 skipped\n",
				"skipped by design (conditions CI lacks on purpose):\n  example.com/m/a TestRoot: a_test.go:20: SKIPPED BY DESIGN: running as root\n"},
			wantNone: []string{"FAIL", "missing part fails instead"},
		},
		{
			name: "CI=true: any other skip fails",
			ci:   true,
			in: `{"Action":"start","Package":"example.com/m/a"}
{"Action":"run","Package":"example.com/m/a","Test":"TestRoot"}
{"Action":"output","Package":"example.com/m/a","Test":"TestRoot","Output":"    a_test.go:20: SKIPPED BY DESIGN: running as root\n"}
{"Action":"skip","Package":"example.com/m/a","Test":"TestRoot"}
{"Action":"run","Package":"example.com/m/a","Test":"TestPy"}
{"Action":"output","Package":"example.com/m/a","Test":"TestPy","Output":"    a_test.go:9: SKIPPED LOUDLY: python3 is missing\n"}
{"Action":"skip","Package":"example.com/m/a","Test":"TestPy"}
{"Action":"pass","Package":"example.com/m/a","Elapsed":0.5}
`,
			code: 1,
			want: []string{"  example.com/m/a TestPy: a_test.go:9: SKIPPED LOUDLY: python3 is missing\n",
				"FAIL: CI=true and 1 test(s) skipped other than by design", "TestRoot: a_test.go:20: SKIPPED BY DESIGN"},
		},
		{
			name: "a failed test prints its output and fails",
			in: `{"Action":"start","Package":"example.com/m/a"}
{"Action":"run","Package":"example.com/m/a","Test":"TestBad"}
{"Action":"output","Package":"example.com/m/a","Test":"TestBad","Output":"    a_test.go:3: got 1, want 2\n"}
{"Action":"fail","Package":"example.com/m/a","Test":"TestBad"}
{"Action":"output","Package":"example.com/m/a","Output":"FAIL\n"}
{"Action":"output","Package":"example.com/m/a","Output":"FAIL\texample.com/m/a\t1.000s\n"}
{"Action":"fail","Package":"example.com/m/a","Elapsed":1}
`,
			code: 1,
			want: []string{"a_test.go:3: got 1, want 2", "FAIL\texample.com/m/a\t1.000s", "0 tests passed, 1 failed, 0 skipped"},
			once: "FAIL\texample.com/m/a",
		},
		{
			name: "a build failure is printed and fails",
			in: `{"ImportPath":"example.com/m/c [example.com/m/c.test]","Action":"build-output","Output":"c.go:1: syntax error\n"}
{"ImportPath":"example.com/m/c [example.com/m/c.test]","Action":"build-fail"}
not json from go vet
`,
			code: 1,
			want: []string{"c.go:1: syntax error\n", "did not build: example.com/m/c", "not json from go vet\n"},
		},
		{
			name: "a package without a result fails",
			in: `{"Action":"start","Package":"example.com/m/a"}
{"Action":"output","Package":"example.com/m/a","Output":"panic: boom\n"}
`,
			code: 1,
			want: []string{"panic: boom", "FAIL\texample.com/m/a\t(no result"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := run(strings.NewReader(tt.in), &out, tt.ci, &homeGuard{})
			if code != tt.code {
				t.Errorf("exit code %d, want %d\n%s", code, tt.code, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tt.once != "" && strings.Count(out.String(), tt.once) != 1 {
				t.Errorf("%q appears %d times:\n%s", tt.once, strings.Count(out.String(), tt.once), out.String())
			}
			for _, w := range tt.wantNone {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestByDesignPrefixAgrees(t *testing.T) {
	if byDesignPrefix != need.ByDesignPrefix {
		t.Errorf("byDesignPrefix %q, need.ByDesignPrefix %q", byDesignPrefix, need.ByDesignPrefix)
	}
}

// A pfz folder that appears in the home during the tests fails the summary;
// one that was there before does not.
func TestHomeGuard(t *testing.T) {
	home := t.TempDir()
	old := filepath.Join(home, "xdgconfig", "pfz")
	if err := os.MkdirAll(old, 0o700); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "xdgconfig"), "PFZ_HOME": filepath.Join(home, "elsewhere")}
	guard := newHomeGuard(func(k string) string { return env[k] })
	in := `{"Action":"start","Package":"example.com/m/a"}
{"Action":"pass","Package":"example.com/m/a","Elapsed":0.5}
`
	var out bytes.Buffer
	if code := run(strings.NewReader(in), &out, false, guard); code != 0 {
		t.Fatalf("nothing created: exit %d\n%s", code, out.String())
	}
	for _, d := range []string{filepath.Join(home, ".local", "share", "pfz"), env["PFZ_HOME"]} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	code := run(strings.NewReader(in), &out, false, guard)
	want := "FAIL: the tests created " + filepath.Join(home, ".local", "share", "pfz") + " and " + env["PFZ_HOME"] + " in the real user's home"
	if code != 1 || !strings.Contains(out.String(), want) {
		t.Errorf("exit %d, want 1 and %q:\n%s", code, want, out.String())
	}
}

// Running the tests itself, testsummary has looked at the home folders
// before the command starts: a folder the very first test creates is
// caught; and the command's own failure fails the summary.
func TestRunCommand(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	made := filepath.Join(home, ".local", "share", "pfz")
	events := `{"Action":"start","Package":"example.com/m/a"}` + "\n" + `{"Action":"pass","Package":"example.com/m/a","Elapsed":0.5}`
	for _, tc := range []struct {
		name, script, want string
	}{
		{"clean", "printf '%s\\n' '" + events + "'", ""},
		{"creates the home at once", "mkdir -p '" + made + "'; printf '%s\\n' '" + events + "'", "FAIL: the tests created " + made},
		{"command fails after passing events", "printf '%s\\n' '" + events + "'; exit 2", "exit status 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.RemoveAll(made)
			guard := newHomeGuard(func(k string) string { return env[k] })
			var out bytes.Buffer
			code := runCommand([]string{"sh", "-c", tc.script}, &out, io.Discard, false, guard)
			if tc.want == "" {
				if code != 0 {
					t.Fatalf("exit %d:\n%s", code, out.String())
				}
				return
			}
			if code != 1 || !strings.Contains(out.String(), tc.want) {
				t.Errorf("exit %d, want 1 and %q:\n%s", code, tc.want, out.String())
			}
		})
	}
}

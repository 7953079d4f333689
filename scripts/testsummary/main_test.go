package main

import (
	"bytes"
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
			code := run(strings.NewReader(tt.in), &out, tt.ci)
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

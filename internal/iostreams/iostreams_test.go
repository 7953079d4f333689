package iostreams

import (
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestColorAndCI(t *testing.T) {
	tests := []struct {
		name      string
		tty       bool
		env       map[string]string
		color, ci bool
	}{
		{"terminal", true, nil, true, false},
		{"piped", false, nil, false, false},
		{"NO_COLOR", true, map[string]string{"NO_COLOR": "1"}, false, false},
		{"TERM=dumb", true, map[string]string{"TERM": "dumb"}, false, false},
		{"CI=true", true, map[string]string{"CI": "true"}, true, true},
		{"CI=false", true, map[string]string{"CI": "false"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _, _ := Test()
			s.SetStdoutTTY(tt.tty)
			s.SetStderrTTY(tt.tty)
			s.ApplyEnv(envOf(tt.env))
			if s.ColorEnabled() != tt.color || s.IsCI() != tt.ci {
				t.Errorf("color %v ci %v, want %v %v", s.ColorEnabled(), s.IsCI(), tt.color, tt.ci)
			}
			if got := s.ColorScheme().Red("x"); (got != "x") != tt.color {
				t.Errorf("Red = %q", got)
			}
			if s.CanAnimate() != (tt.tty && !tt.ci) {
				t.Errorf("CanAnimate = %v", s.CanAnimate())
			}
		})
	}
}

func TestProgressOffTerminalPrintsLines(t *testing.T) {
	s, _, out, errOut := Test()
	p := s.NewProgress()
	p.Status("Queued")
	p.Status("Queued") // no change, no line
	p.Status("Running")
	for i := int64(0); i <= 20; i++ {
		p.Count("lines", i, 0, 20)
	}
	p.Count("lines", 20, 2, 20) // same tenth: nothing new
	p.Log("a log line")
	p.Count("bytes", 2048, 0, 4096)
	p.Stop()
	want := "Queued\nRunning\nlines: 0/20\nlines: 2/20\nlines: 4/20\nlines: 6/20\nlines: 8/20\nlines: 10/20\n" +
		"lines: 12/20\nlines: 14/20\nlines: 16/20\nlines: 18/20\nlines: 20/20\na log line\nuploaded 2.0 KiB of 4.0 KiB\n"
	if errOut.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, want)
	}
	if out.Len() != 0 {
		t.Errorf("progress reached stdout: %q", out)
	}
}

func TestProgressOnTerminalDrawsABar(t *testing.T) {
	s, _, out, errOut := Test()
	s.SetStderrTTY(true)
	p := s.NewProgress()
	p.Status("Running")
	p.Count("lines", 5, 1, 10)
	p.Stop()
	// Ten lines: a count, no rate (a rate over a few lines means nothing).
	if !strings.Contains(errOut.String(), "Running (1 failed)") || !strings.Contains(errOut.String(), "/10)") || strings.Contains(errOut.String(), "lines/") || out.Len() != 0 {
		t.Errorf("stderr %q stdout %q", errOut, out)
	}
	errOut.Reset()
	p = s.NewProgress()
	p.Status("Running")
	p.Count("lines", 500, 0, 5000)
	p.Stop()
	if !strings.Contains(errOut.String(), "/5000, ") || !strings.Contains(errOut.String(), "lines/") {
		t.Errorf("5000 lines: stderr %q", errOut)
	}
}

func TestShowRate(t *testing.T) {
	tests := []struct {
		unit  string
		total int64
		want  bool
	}{
		{"lines", 5, false},
		{"lines", 999, false},
		{"lines", 1000, true},
		{"lines", 0, true},
		{"bytes", 5, true},
	}
	for _, tt := range tests {
		if got := showRate(tt.unit, tt.total); got != tt.want {
			t.Errorf("showRate(%s, %d) = %v, want %v", tt.unit, tt.total, got, tt.want)
		}
	}
}

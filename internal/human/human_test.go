package human

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0.0s"},
		{403895066 * time.Nanosecond, "0.4s"},
		{1288 * time.Millisecond, "1.3s"},
		{59940 * time.Millisecond, "59.9s"},
		{59960 * time.Millisecond, "60.0s"},
		{123200 * time.Millisecond, "2m03s"},
		{59*time.Minute + 59600*time.Millisecond, "1h00m00s"},
		{3*time.Hour + 2*time.Minute + 1*time.Second, "3h02m01s"},
		{-1500 * time.Millisecond, "-1.5s"},
	}
	for _, tt := range tests {
		if got := Duration(tt.in); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"403.895066ms", 403895066 * time.Nanosecond, true},
		{"2m3.2s", 123200 * time.Millisecond, true},
		{"00:06:43.5", 6*time.Minute + 43500*time.Millisecond, true},
		{"1.02:03:04", 26*time.Hour + 3*time.Minute + 4*time.Second, true},
		{"", 0, false},
		{"soon", 0, false},
		{"00:61:00", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseDuration(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1s", "00:00:01.5", "1.00:00:00", ":", "1.:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := ParseDuration(s); ok {
			_ = Duration(d)
		}
	})
}

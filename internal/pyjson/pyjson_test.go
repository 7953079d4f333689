package pyjson

import (
	"encoding/json"
	"math"
	"math/big"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDumps(t *testing.T) {
	huge, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	tests := []struct {
		in   any
		want string
	}{
		{map[string]any{}, `{}`},
		{[]any{}, `[]`},
		{nil, `null`},
		{map[string]any{"b": 1, "a": []any{true, false, nil, 1.0, "x"}}, `{"a": [true, false, null, 1.0, "x"], "b": 1}`},
		{map[string]string{"k": "v"}, `{"k": "v"}`},
		{[]string{"a", "b"}, `["a", "b"]`},
		{"é\U0001F680\x7f\u2028", `"\u00e9\ud83d\ude80\u007f\u2028"`},
		{"\"\\/\b\f\n\r\t\x00", `"\"\\/\b\f\n\r\t\u0000"`},
		{int64(-5), `-5`},
		{uint64(math.MaxUint64), `18446744073709551615`},
		{huge, `-123456789012345678901234567890`},
		{float32(0.5), `0.5`},
		{1234567.5, `1234567.5`}, // repr, never Go's %g (1.2345675e+06)
		{1e16, `1e+16`},
		{[]any{math.Inf(1), math.Inf(-1), math.NaN()}, `[Infinity, -Infinity, NaN]`},
		{map[any]any{10: "a", 9.5: "b", true: "c"}, `{"true": "c", "9.5": "b", "10": "a"}`},
		{map[any]any{nil: 1}, `{"null": 1}`},
		{map[any]any{"b": 1, "a": 2}, `{"a": 2, "b": 1}`},
		// json.Number reads as json.loads would: an int, else a float.
		{[]any{json.Number("12345678901234567890123"), json.Number("1.50"), json.Number("1e2"), json.Number("1e400")},
			`[12345678901234567890123, 1.5, 100.0, Infinity]`},
	}
	for _, tt := range tests {
		got, err := Dumps(tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("Dumps(%#v) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
		if text := Text(tt.in); text != tt.want {
			t.Errorf("Text(%#v) = %s; want %s", tt.in, text, tt.want)
		}
	}
	for _, bad := range []any{
		time.Now(),
		map[any]any{"a": 1, 2: 3},
		map[any]any{nil: 1, "a": 2},
		"bad\xff",
		[]any{struct{}{}},
		json.Number("1.2.3"),
	} {
		if _, err := Dumps(bad); err == nil {
			t.Errorf("Dumps(%#v) succeeded, Python raises", bad)
		}
	}
}

// Text renders what Dumps refuses: it is for text that is shown or sent.
func TestText(t *testing.T) {
	type point struct {
		X int     `json:"x"`
		Y float64 `json:"y"`
	}
	tests := []struct {
		in   any
		want string
	}{
		{"bad\xff", `"bad\ufffd"`},
		{map[string]any{"p": point{1, 2}}, `{"p": {"x": 1, "y": 2}}`},
		{map[string]int{"b": 2, "a": 1}, `{"a": 1, "b": 2}`},
		{[]any{map[any]any{"a": 1, 2: 3}, 1}, `[null, 1]`}, // unsortable keys: that mapping only
		{[]any{json.Number("x"), "y"}, `[null, "y"]`},
		{[]any{make(chan int)}, `[null]`},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%#v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func FuzzDumpsString(f *testing.F) {
	for _, s := range []string{"", "plain", "é\U0001F680\x7f\u2028\"\\\n\x00", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Dumps(map[string]any{s: []any{s}})
		if !utf8.ValidString(s) {
			if err == nil {
				t.Fatalf("invalid UTF-8 %q encoded", s)
			}
			if text := Text(s); !json.Valid([]byte(text)) {
				t.Fatalf("Text(%q) = %s, not JSON", s, text)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if text := Text(map[string]any{s: []any{s}}); text != string(out) {
			t.Fatalf("Text and Dumps differ on %q: %s, %s", s, text, out)
		}
		for _, c := range out {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("output is not printable ASCII: %q", out)
			}
		}
		var back map[string][]string
		if err := json.Unmarshal(out, &back); err != nil || len(back[s]) != 1 || back[s][0] != s {
			t.Fatalf("round trip of %q through %s gave %v, %v", s, out, back, err)
		}
	})
}

package pyjson

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestMarshalUnmarshalKeepsEveryValue(t *testing.T) {
	tests := []struct{ in, want string }{
		// Non-finite floats as Python's json writes them, anywhere.
		{`{"d":NaN,"e":[Infinity,-Infinity],"f":{"g":NaN}}`, `{"d":NaN,"e":[Infinity,-Infinity],"f":{"g":NaN}}`},
		// Numbers keep their text: big ints, 1.0 vs 1, a leading zero float.
		{`[9223372036854775808,1.0,1,1e400,-0.0]`, `[9223372036854775808,1.0,1,1e400,-0.0]`},
		// The literals inside strings stay strings.
		{`{"s":"NaN","t":"x \"NaN\" Infinity","NaN":"-Infinity"}`, `{"s":"NaN","t":"x \"NaN\" Infinity","NaN":"-Infinity"}`},
		{`"<&>"`, `"<&>"`},
	}
	for _, tt := range tests {
		v, err := Decode([]byte(tt.in))
		if err != nil {
			t.Fatalf("Decode(%s): %v", tt.in, err)
		}
		got, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%s): %v", tt.in, err)
		}
		if string(got) != tt.want {
			t.Errorf("round trip of %s = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestUnmarshalIntoStruct(t *testing.T) {
	type rec struct {
		N       int            `json:"n"`
		Inputs  map[string]any `json:"inputs"`
		Output  any            `json:"output"`
		List    []any          `json:"list"`
		When    time.Time      `json:"when"`
		Nothing any            `json:"nothing"`
	}
	var r rec
	in := `{"n":3,"inputs":{"d":NaN,"i":007},"output":-Infinity,"list":[1,Infinity],"when":"2024-01-02T03:04:05Z","nothing":null}`
	if err := Unmarshal([]byte(in), &r); err == nil {
		t.Fatalf("007 is not JSON, want an error")
	}
	in = `{"n":3,"inputs":{"d":NaN,"i":7},"output":-Infinity,"list":[1,Infinity],"when":"2024-01-02T03:04:05Z","nothing":null}`
	if err := Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if d, ok := r.Inputs["d"].(NonFinite); !ok || !math.IsNaN(float64(d)) {
		t.Errorf("inputs.d = %#v", r.Inputs["d"])
	}
	if r.Inputs["i"] != json.Number("7") || r.Output != NonFinite(math.Inf(-1)) || r.List[1] != NonFinite(math.Inf(1)) {
		t.Errorf("decoded %#v", r)
	}
	b, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"n":3,"inputs":{"d":NaN,"i":7},"output":-Infinity,"list":[1,Infinity],"when":"2024-01-02T03:04:05Z","nothing":null}`; string(b) != want {
		t.Errorf("Marshal = %s\nwant       %s", b, want)
	}
}

func TestMarshalIndentAndFloat(t *testing.T) {
	v := map[string]any{"a": Float(math.NaN()), "b": Float(1), "c": Float(0.1), "d": Plain([]any{math.Inf(1), 2, int64(3)})}
	b, err := MarshalIndent(v, "  ")
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": NaN,\n  \"b\": 1.0,\n  \"c\": 0.1,\n  \"d\": [\n    Infinity,\n    2,\n    3\n  ]\n}"
	if string(b) != want {
		t.Errorf("MarshalIndent = %s", b)
	}
	// A string that merely looks like the marker is not turned into a number.
	s := "\x00pyjson-nonfinite-000000000000000000000000:NaN"
	b, _ = Marshal(s)
	var back any
	if err := Unmarshal(b, &back); err != nil || back != s {
		t.Errorf("marker-like string came back as %#v (%v)", back, err)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	for _, in := range []string{`NaNx`, `[nan]`, `{"a":1} {"b":2}`, `Infinit`, `[1,]`} {
		var v any
		if err := Unmarshal([]byte(in), &v); err == nil {
			t.Errorf("Unmarshal(%s) = %#v, want an error", in, v)
		}
	}
}

// FuzzValuesRoundTrip: whatever Unmarshal accepts, Marshal writes back so
// that reading it again gives the same text.
func FuzzValuesRoundTrip(f *testing.F) {
	for _, s := range []string{`{"d":NaN}`, `[Infinity,-Infinity,"NaN"]`, `1e400`, `{"a":[1,2.50,{"b":null}]}`, `"\u0000x"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := Decode([]byte(in))
		if err != nil {
			return
		}
		b1, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(Decode(%q)): %v", in, err)
		}
		v2, err := Decode(b1)
		if err != nil {
			t.Fatalf("Decode(%s): %v", b1, err)
		}
		b2, err := Marshal(v2)
		if err != nil || string(b1) != string(b2) {
			t.Fatalf("not stable: %s then %s (%v)", b1, b2, err)
		}
	})
}

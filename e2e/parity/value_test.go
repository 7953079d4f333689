package parity

import (
	"slices"
	"strings"
	"testing"
)

func TestDecodeJSONKeepsKeyOrder(t *testing.T) {
	tests := []struct {
		name, in string
		keys     [][]string // every object's keys, depth first
		shown    string
	}{
		{"flat, not sorted", `{"zeta": 1, "alpha": 2, "mid": 3}`,
			[][]string{{"zeta", "alpha", "mid"}}, `{"zeta":1,"alpha":2,"mid":3}`},
		{"nested and in a list", `{"b": {"y": [1, {"d": 0, "c": 1}], "x": 2}, "a": {}}`,
			[][]string{{"b", "a"}, {"y", "x"}, {"d", "c"}, {}}, `{"b":{"y":[1,{"d":0,"c":1}],"x":2},"a":{}}`},
		{"a repeated key keeps its first place and its last value", `{"a": 1, "b": 2, "a": 3}`,
			[][]string{{"a", "b"}}, `{"a":3,"b":2}`},
		{"upper case before lower, as written", `{"b": true, "a": 1.5, "Z": "u"}`,
			[][]string{{"b", "a", "Z"}}, `{"b":true,"a":1.5,"Z":"u"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := decodeJSON(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			walkObjects(v, func(o *Object) { got = append(got, slices.Clone(o.Keys)) })
			if !slices.EqualFunc(got, tt.keys, func(a, b []string) bool { return slices.Equal(a, b) }) {
				t.Errorf("keys %q, want %q", got, tt.keys)
			}
			if s := show(v); s != tt.shown {
				t.Errorf("show = %s, want %s", s, tt.shown)
			}
		})
	}
}

func walkObjects(v any, f func(*Object)) {
	switch x := v.(type) {
	case *Object:
		f(x)
		for _, k := range x.Keys {
			walkObjects(x.Vals[k], f)
		}
	case []any:
		for _, e := range x {
			walkObjects(e, f)
		}
	}
}

func TestDiffValuesKeyOrder(t *testing.T) {
	tests := []struct {
		name, pf, pfz string
		want          []string // "path: pf | pfz"
	}{
		{"same order", `{"zeta": 1, "alpha": {"y": 1, "x": 2}}`, `{"zeta": 1, "alpha": {"y": 1, "x": 2}}`, nil},
		{"sorted by one side", `{"zeta": 1, "alpha": 2, "mid": 3}`, `{"alpha": 2, "mid": 3, "zeta": 1}`,
			[]string{"d: key order: [zeta alpha mid] | [alpha mid zeta]"}},
		{"nested object in a list", `[{"a": {"y": 1, "x": 2}}]`, `[{"a": {"x": 2, "y": 1}}]`,
			[]string{"d[0].a: key order: [y x] | [x y]"}},
		{"order and a value differ", `{"b": 1, "a": 2}`, `{"a": 2, "b": 5}`,
			[]string{"d: key order: [b a] | [a b]", "d.b: 1 | 5"}},
		{"a key only one side has is no order difference", `{"b": 1, "c": 0, "a": 2}`, `{"b": 1, "a": 2}`,
			[]string{"d.c: 0 | (absent)"}},
		{"the keys both have in another order", `{"b": 1, "c": 0, "a": 2}`, `{"a": 2, "b": 1}`,
			[]string{"d: key order: [b c a] | [a b]", "d.c: 0 | (absent)"}},
		{"keys that need quotes", `{"a b": 1, "": 2}`, `{"": 2, "a b": 1}`,
			[]string{`d: key order: ["a b" ""] | ["" "a b"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := decodeJSON(tt.pf)
			if err != nil {
				t.Fatal(err)
			}
			b, err := decodeJSON(tt.pfz)
			if err != nil {
				t.Fatal(err)
			}
			var vd []valueDiff
			diffValues("d", a, b, &vd)
			got := make([]string, len(vd))
			for i, d := range vd {
				got[i] = d.path + ": " + d.a + " | " + d.b
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("diffs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// A line's inputs and outputs and the metrics are compared with their order,
// as the objects in them: promptflow records them in an order of its own (the
// inputs as it builds them, the outputs in the flow's order, the metrics as
// logged), which a comparison of sets would not see.
func TestCompareRunsKeyOrder(t *testing.T) {
	obj := func(s string) *Object {
		v, err := decodeJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		return v.(*Object)
	}
	line := func(in, out string) *Line {
		return &Line{Status: "Completed", Inputs: obj(in), Outputs: obj(out)}
	}
	pf := &Result{Outcome: outcomeCompleted, Lines: map[int]*Line{
		0: line(`{"data": {"b": 1, "a": 2}, "word": "w"}`, `{"d": {"zeta": 1, "alpha": 2, "mid": 3}, "n": 1}`),
		1: line(`{"word": "w", "data": {}}`, `{"zz": 1, "aa": 2}`),
	}, Metrics: obj(`{"m": {"y": 1, "x": 2}, "n": 1, "a": 1.0}`)}
	pfz := &Result{Outcome: outcomeCompleted, Lines: map[int]*Line{
		0: line(`{"data": {"a": 2, "b": 1}, "word": "w"}`, `{"d": {"alpha": 2, "mid": 3, "zeta": 1}, "n": 1}`),
		1: line(`{"data": {}, "word": "w"}`, `{"aa": 2, "zz": 1}`),
	}, Metrics: obj(`{"a": 1.0, "m": {"x": 2, "y": 1}, "n": 1}`)}
	var got []string
	for _, d := range compare(pf, pfz) {
		got = append(got, d.String())
	}
	want := []string{
		"line 0: inputs.data: key order: promptflow [b a] | pfz [a b]",
		"line 0: outputs.d: key order: promptflow [zeta alpha mid] | pfz [alpha mid zeta]",
		"line 1: inputs: key order: promptflow [word data] | pfz [data word]",
		"line 1: outputs: key order: promptflow [zz aa] | pfz [aa zz]",
		"metrics: key order: promptflow [m n a] | pfz [a m n]",
		"metrics.m: key order: promptflow [y x] | pfz [x y]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("divergences\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The same members in the same order: no divergence.
	if d := compare(pf, pf); len(d) != 0 {
		t.Errorf("a result compared with itself: %v", d)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"b": 1, "a": [{"d": NaN, "c": -Infinity}]}`, `{"a": 1, "a": 2}`, `"\ud83d\ude00"`, `[]`, `{}`, `1e400`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := decodeJSON(s)
		if err != nil {
			return
		}
		walkObjects(v, func(o *Object) {
			if len(o.Keys) != len(o.Vals) {
				t.Fatalf("%d keys, %d values: %q", len(o.Keys), len(o.Vals), o.Keys)
			}
			for _, k := range o.Keys {
				if _, ok := o.Vals[k]; !ok {
					t.Fatalf("key %q without a value", k)
				}
			}
		})
		var vd []valueDiff
		diffValues("", v, v, &vd)
		if len(vd) > 0 {
			t.Fatalf("a value differs from itself: %v", vd)
		}
	})
}

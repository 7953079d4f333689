package pyjson

import (
	"encoding/json"
	"math"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/need"
)

func TestDecodeKeepsKeyOrder(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"zeta": 1, "alpha": [1, 2], "mid": null}`, `{"zeta":1,"alpha":[1,2],"mid":null}`},
		{`{"b": {"z": 1, "a": {"y": NaN, "x": 2}}, "a": [{"d": 1, "c": 2}]}`, `{"b":{"z":1,"a":{"y":NaN,"x":2}},"a":[{"d":1,"c":2}]}`},
		// A repeated key keeps its first place and its last value (json.loads).
		{`{"a": 1, "b": 2, "a": 3}`, `{"a":3,"b":2}`},
		{`{}`, `{}`},
		{` [ ] `, `[]`},
		{`"\u00e9\ud83d\ude00<&>"`, `"é😀<&>"`},
		{`[1e400, -0.0, 2.50, 007.5e1]`, ``},                             // 007 is not JSON
		{`{"\u0000pfz": ["tuple", [1]]}`, `{"\u0000pfz":["tuple",[1]]}`}, // no tags outside the wire
	}
	for _, tt := range tests {
		v, err := Decode([]byte(tt.in))
		if tt.want == "" {
			if err == nil {
				t.Errorf("Decode(%s) = %#v, want an error", tt.in, v)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Decode(%s): %v", tt.in, err)
		}
		got, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if string(got) != tt.want {
			t.Errorf("Decode+Marshal(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// Many keys use the index for repeated keys; the order must not change.
func TestDecodeLargeObject(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	keys := []string{}
	for i := 0; i < 40; i++ {
		k := string(rune('z'-i%26)) + strings.Repeat("k", i/26)
		keys = append(keys, k)
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"` + k + `":1`)
	}
	b.WriteString(`,"z":2}`)
	v, err := Decode([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	o := v.(Object)
	if !reflect.DeepEqual(o.Keys(), keys) {
		t.Errorf("keys %v, want %v", o.Keys(), keys)
	}
	if z, _ := o.Get("z"); z != json.Number("2") {
		t.Errorf("z = %v, want the last value 2", z)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `[1,]`, `{"a" 1}`, `{"a":1,}`, `"x`, "\"a\x01\"", `nul`, `1 2`, `-`, `1.`, `.5`, `+1`, `{1:2}`, `NaNa`} {
		if v, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%q) = %#v, want an error", in, v)
		}
	}
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	if _, err := Decode([]byte(deep)); err == nil {
		t.Errorf("Decode of %d nested arrays: want an error", maxDepth+1)
	}
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	// Strings decode as encoding/json decodes them (bad UTF-8 and lone
	// surrogates become U+FFFD).
	for _, in := range []string{`"a\"b\\c\/\b\f\n\r\t"`, "\"\xff\xfe\"", `"\ud800x"`, `"日本"`, `"\u2028"`} {
		var want any
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		got, err := Decode([]byte(in))
		if err != nil || got != want {
			t.Errorf("Decode(%q) = %q, %v; encoding/json %q", in, got, err, want)
		}
	}
}

func TestWireRoundTrip(t *testing.T) {
	gen := NewGenerator("<generator object g at 0x7f>", []any{"A", Tuple{json.Number("1")}})
	v := Object{
		{Key: "zeta", Value: Tuple{json.Number("1"), "a", Tuple{}}},
		{Key: "g", Value: gen},
		{Key: "nested", Value: []any{Object{{Key: "b", Value: 1.5}, {Key: TagKey, Value: "x"}}}},
		{Key: "nan", Value: NonFinite(math.NaN())},
	}
	var sent Sent
	b, err := Marshal(Wire(v, &sent))
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeWire(Standard(b))
	if err != nil {
		t.Fatal(err)
	}
	want := Plain(v)
	if Repr(got) != Repr(want) {
		t.Errorf("wire round trip:\n got %s\nwant %s", Repr(got), Repr(want))
	}
	if _, ok := got.(Object)[1].Value.(*Generator); !ok {
		t.Errorf("the generator came back as %T", got.(Object)[1].Value)
	}
	// Wire leaves the original alone.
	if _, ok := v[0].Value.(Tuple); !ok {
		t.Errorf("Wire changed its argument")
	}
	// Without tags or sentinels Decode and DecodeWire agree.
	plain := []byte(`{"b":[1,{"y":null}],"a":"x"}`)
	d1, _ := Decode(plain)
	d2, _ := DecodeWire(plain)
	if !reflect.DeepEqual(d1, d2) {
		t.Errorf("Decode %#v != DecodeWire %#v", d1, d2)
	}
	for _, bad := range []string{`{"\u0000pfz": 1}`, `{"\u0000pfz": ["set", []]}`, `{"\u0000pfz": ["dict", [[1, 2]]]}`} {
		if v, err := DecodeWire([]byte(bad)); err == nil {
			t.Errorf("DecodeWire(%s) = %#v, want an error", bad, v)
		}
	}
}

// TestWireIterators: async generators and other iterators go to the worker
// as their kind (an iterator with its type name), and their records are
// their repr; dict keys that were not strings go back as they came.
func TestWireIterators(t *testing.T) {
	in := `[{"\u0000pfz": ["iterator", ["<list_iterator object at 0x1>", ["a", "b"], null, "list_iterator"]]},` +
		`{"\u0000pfz": ["async_generator", ["<async_generator object ag at 0x2>", [1]]]},` +
		`{"\u0000pfz": ["dict", [["2", "x", 1], ["k", "y"]]]}]`
	v, err := DecodeWire([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got := v.([]any)
	it, ag := got[0].(*Generator), got[1].(*Generator)
	if it.Kind != "iterator" || it.Type != "list_iterator" || ag.Kind != "async_generator" || ag.Type != "" {
		t.Fatalf("decoded %+v, %+v", it, ag)
	}
	if r := Record(got); r != `[<list_iterator object at 0x1>, <async_generator object ag at 0x2>, {2: 'x', 'k': 'y'}]` {
		t.Errorf("Record = %v", r)
	}
	b, err := Marshal(got[2])
	if err != nil || string(b) != `{"2":"x","k":"y"}` {
		t.Errorf("Marshal(dict) = %s, %v (records keep json.dumps' keys)", b, err)
	}
	var sent Sent
	b, err = Marshal(Wire(got, &sent))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"\u0000pfz":["iterator",["<list_iterator object at 0x1>",["a","b"],0,"list_iterator"]]},` +
		`{"\u0000pfz":["async_generator",["<async_generator object ag at 0x2>",[1],1]]},` +
		`{"\u0000pfz":["dict",[["2","x",1],["k","y"]]]}]`
	if string(b) != want {
		t.Errorf("Wire =\n%s\nwant\n%s", b, want)
	}
	sent.Consumed([][2]int{{0, 1}})
	if it.Joined() != "b" || ag.Joined() != "1" {
		t.Errorf("after one read: %q, %q", it.Joined(), ag.Joined())
	}
}

func TestRecords(t *testing.T) {
	// A tuple is a list in records; a generator cannot be recorded, a value
	// holding one is recorded as its str(), as promptflow records it.
	b, err := Marshal(map[string]any{"t": Tuple{json.Number("1"), Tuple{"a"}}, "o": Object{{Key: "z", Value: nil}, {Key: "a", Value: true}}})
	if err != nil || string(b) != `{"o":{"z":null,"a":true},"t":[1,["a"]]}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	g := Object{{Key: "word", Value: "ab"}, {Key: "upper", Value: NewGenerator("<generator object _g at 0x7f43>", []any{"A", "B"})}}
	if _, err := Marshal(g); err == nil {
		t.Errorf("Marshal of a generator: want an error")
	}
	if got := Record(g); got != `{'word': 'ab', 'upper': <generator object _g at 0x7f43>}` {
		t.Errorf("Record = %#v", got)
	}
	if got := Record(Tuple{"x"}); !reflect.DeepEqual(got, Tuple{"x"}) {
		t.Errorf("Record(tuple) = %#v", got)
	}
}

// reprCases are wire JSON texts and Python's repr() of the value the worker
// makes of them; TestReprAgainstPython checks the table with python3.
var reprCases = []struct{ wire, repr string }{
	{`null`, `None`},
	{`true`, `True`},
	{`"it's"`, `"it's"`},
	{`"a'b\"c"`, `'a\'b"c'`},
	{`"tab\there\nnl \\ \u0001 \u007f \u00e9 \u00a0 \u2028 \ud83d\ude00"`, `'tab\there\nnl \\ \x01 \x7f é \xa0 \u2028 😀'`},
	{`1`, `1`},
	{`-0.0`, `-0.0`},
	{`1.0`, `1.0`},
	{`1e400`, `inf`},
	{`NaN`, `nan`},
	{`-Infinity`, `-inf`},
	{`123456789012345678901234567890`, `123456789012345678901234567890`},
	{`1234567.5`, `1234567.5`},
	{`1e16`, `1e+16`},
	{`0.0001`, `0.0001`},
	{`0.00001`, `1e-05`},
	{`[1, [], {}]`, `[1, [], {}]`},
	{`{"zeta": 1, "alpha": {"y": null, "x": [true]}, "mid": "m"}`, `{'zeta': 1, 'alpha': {'y': None, 'x': [True]}, 'mid': 'm'}`},
	{`{"\u0000pfz": ["tuple", []]}`, `()`},
	{`{"\u0000pfz": ["tuple", [1]]}`, `(1,)`},
	{`{"\u0000pfz": ["tuple", [1, "a", {"\u0000pfz": ["tuple", [2, 3]]}]]}`, `(1, 'a', (2, 3))`},
	{`{"\u0000pfz": ["dict", [["\u0000pfz", 1], ["b", 2]]]}`, `{'\x00pfz': 1, 'b': 2}`},
	{`{"\u0000pfz": ["dict", [["2", "a", 1], ["1.5", [], 1], ["true", 1, 1], ["null", null, 1], ["-Infinity", 0, 1], ["s", {"\u0000pfz": ["dict", [["3", "x", 1]]]}]]]}`,
		`{2: 'a', 1.5: [], True: 1, None: None, -inf: 0, 's': {3: 'x'}}`},
}

func TestRepr(t *testing.T) {
	for _, c := range reprCases {
		v, err := DecodeWire([]byte(c.wire))
		if err != nil {
			t.Fatalf("DecodeWire(%s): %v", c.wire, err)
		}
		if got := Repr(v); got != c.repr {
			t.Errorf("Repr(%s) = %s, want %s", c.wire, got, c.repr)
		}
		if s, ok := v.(string); ok && Str(v) != s {
			t.Errorf("Str(%s) = %s", c.wire, Str(v))
		} else if !ok && Str(v) != c.repr {
			t.Errorf("Str(%s) = %s, want %s", c.wire, Str(v), c.repr)
		}
	}
	// Go values from YAML print as Python would print them.
	for v, want := range map[any]string{3.0: "3.0", 1e22: "1e+22", int64(-7): "-7", uint64(1 << 63): "9223372036854775808"} {
		if got := Str(v); got != want {
			t.Errorf("Str(%#v) = %s, want %s", v, got, want)
		}
	}
	if got := Repr(map[string]any{"b": 1, "a": math.Inf(1)}); got != `{'a': inf, 'b': 1}` {
		t.Errorf("Repr(map) = %s", got)
	}
}

// TestReprAgainstPython checks the repr table with python3 itself, decoding
// the wire texts as the worker does.
func TestReprAgainstPython(t *testing.T) {
	py := need.Command(t, "python3", "the repr table is checked against it")
	const script = `
import json, sys
TAG = "\x00pfz"
def hook(d):
    if len(d) == 1 and TAG in d:
        kind, payload = d[TAG]
        if kind == "tuple":
            return tuple(payload)
        if kind == "dict":
            return dict((json.loads(p[0]), p[1]) if len(p) > 2 else p for p in payload)
    return d
for line in sys.stdin:
    print(json.dumps(repr(json.loads(line, object_hook=hook))))
`
	var in strings.Builder
	for _, c := range reprCases {
		in.WriteString(c.wire + "\n")
	}
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(reprCases) {
		t.Fatalf("python3 printed %d lines for %d cases", len(lines), len(reprCases))
	}
	for i, c := range reprCases {
		var want string
		if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
			t.Fatal(err)
		}
		if c.repr != want {
			t.Errorf("table says repr(%s) = %s; python3 says %s", c.wire, c.repr, want)
		}
	}
}

func TestUnmarshalOrdered(t *testing.T) {
	type inner struct {
		Output any `json:"output"`
	}
	type Embedded struct {
		Extra any `json:"extra"`
	}
	type rec struct {
		Embedded
		Inputs  map[string]any    `json:"inputs"`
		Nodes   []inner           `json:"nodes"`
		ByName  map[string]*inner `json:"by_name"`
		Skipped any               `json:"-"`
		Lower   any
		N       json.Number `json:"n"`
	}
	in := `{"inputs":{"d":{"z":1,"a":NaN},"s":"x"},"nodes":[{"output":[{"y":1,"b":2}]}],"by_name":{"k":{"output":{"q":1,"p":2}}},` +
		`"extra":{"m":1,"c":2},"lower":{"z":0,"a":0},"n":7}`
	var r rec
	if err := UnmarshalOrdered([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"extra":{"m":1,"c":2},"inputs":{"d":{"z":1,"a":NaN},"s":"x"},"nodes":[{"output":[{"y":1,"b":2}]}],"by_name":{"k":{"output":{"q":1,"p":2}}},"Lower":{"z":0,"a":0},"n":7}`
	if string(got) != want {
		t.Errorf("UnmarshalOrdered+Marshal =\n%s\nwant\n%s", got, want)
	}
	if err := UnmarshalOrdered([]byte(`{"inputs": 1}`), &r); err == nil {
		t.Errorf("a type mismatch: want an error")
	}
}

func TestWireGeneratorsConsumed(t *testing.T) {
	g := NewGenerator("<generator object letters at 0x1>", []any{"a-", "b-", "c-"})
	var sent Sent
	msg := Wire(map[string]any{"stream": g, "again": []any{g}, TagKey: Tuple{1}}, &sent)
	if len(sent) != 2 {
		t.Fatalf("sent %d generators, want 2", len(sent))
	}
	b, err := Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	// The map holding the tag key is sent as its pairs, its tuple tagged once.
	if !strings.Contains(string(b), `"\u0000pfz":["dict",[["\u0000pfz",{"\u0000pfz":["tuple",[1]]}]`) {
		t.Errorf("wire = %s", b)
	}
	sent.Consumed([][2]int{{0, 1}})
	if got := g.Joined(); got != "b-c-" {
		t.Errorf("after one item read: %q", got)
	}
	// The second reader got all three items and read two: only c- is left.
	// A report about an id that was not sent is ignored.
	sent.Consumed([][2]int{{1, 2}, {7, 1}})
	if got := g.Joined(); got != "c-" {
		t.Errorf("after two items read from the first snapshot: %q", got)
	}
	sent.Consumed([][2]int{{0, 9}})
	if got := g.Joined(); got != "" {
		t.Errorf("read wholly: %q", got)
	}
}

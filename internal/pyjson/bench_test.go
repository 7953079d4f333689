package pyjson

import (
	"strings"
	"testing"
)

// benchValue is a node output of typical shape: a dict of strings, numbers,
// a nested dict and a list of dicts.
var benchValue = func() []byte {
	var b strings.Builder
	b.WriteString(`{"answer": "The capital of France is Paris.", "score": 0.87, "n": 12, "meta": {"model": "gpt-4o", "tokens": 123, "ok": true}, "docs": [`)
	for i := 0; i < 20; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`{"id": "doc-` + strings.Repeat("x", i) + `", "text": "Some passage of text \u00e9 with escapes \"quoted\".", "score": 0.5, "tags": ["a", "b"]}`)
	}
	b.WriteString(`], "nan": NaN}`)
	return []byte(b.String())
}()

// BenchmarkDecodeOrdered is Decode (an Object per dict, order kept).
func BenchmarkDecodeOrdered(b *testing.B) {
	b.SetBytes(int64(len(benchValue)))
	for b.Loop() {
		if _, err := Decode(benchValue); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeMaps is the decoding Decode replaced: encoding/json into
// Go maps (through Unmarshal, which marks NaN for it).
func BenchmarkDecodeMaps(b *testing.B) {
	b.SetBytes(int64(len(benchValue)))
	for b.Loop() {
		var v any
		if err := Unmarshal(benchValue, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalOrdered(b *testing.B) {
	v, _ := Decode(benchValue)
	b.SetBytes(int64(len(benchValue)))
	for b.Loop() {
		if _, err := Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalMaps(b *testing.B) {
	var v any
	_ = Unmarshal(benchValue, &v)
	b.SetBytes(int64(len(benchValue)))
	for b.Loop() {
		if _, err := Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

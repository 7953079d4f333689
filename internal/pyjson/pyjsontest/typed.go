// Package pyjsontest reads the Python values in the test vectors that
// scripts/gen_session_vectors.py writes: JSON alone loses the difference
// between 1 and 1.0, so each value carries its Python type.
package pyjsontest

import (
	"encoding/json"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Typed is one Python value as the generator writes it: {"t": type, "v": …}.
type Typed struct {
	T string          `json:"t"`
	V json.RawMessage `json:"v"`
}

// Value decodes tv into the Go value pfz's decoders would produce for it:
// int (or *big.Int beyond int64), float64 (from its hex form), string,
// []any, and map[string]any, or map[any]any where a key is not a string.
func Value(t testing.TB, tv Typed) any {
	t.Helper()
	switch tv.T {
	case "none":
		return nil
	case "bool":
		var b bool
		Unmarshal(t, tv.V, &b)
		return b
	case "int":
		var s string
		Unmarshal(t, tv.V, &s)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return int(n)
		}
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("bad int %q", s)
		}
		return n
	case "float":
		var s string
		Unmarshal(t, tv.V, &s)
		switch s {
		case "nan":
			return math.NaN()
		case "inf":
			return math.Inf(1)
		case "-inf":
			return math.Inf(-1)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("bad float hex %q: %v", s, err)
		}
		return f
	case "str":
		var s string
		Unmarshal(t, tv.V, &s)
		return s
	case "list":
		var items []Typed
		Unmarshal(t, tv.V, &items)
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = Value(t, it)
		}
		return out
	case "dict":
		var pairs [][2]Typed
		Unmarshal(t, tv.V, &pairs)
		strKeys := true
		for _, p := range pairs {
			strKeys = strKeys && p[0].T == "str"
		}
		if strKeys {
			m := map[string]any{}
			for _, p := range pairs {
				m[Value(t, p[0]).(string)] = Value(t, p[1])
			}
			return m
		}
		m := map[any]any{}
		for _, p := range pairs {
			m[Value(t, p[0])] = Value(t, p[1])
		}
		return m
	}
	t.Fatalf("unknown type %q", tv.T)
	return nil
}

// Unmarshal is json.Unmarshal that fails the test on error.
func Unmarshal(t testing.TB, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

// ReadVectors decodes the test package's testdata/vectors.json into v.
func ReadVectors(t testing.TB, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	Unmarshal(t, data, v)
}

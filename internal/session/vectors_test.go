package session

import (
	"encoding/json"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The vectors were computed by scripts/gen_session_vectors.py with Python's
// own json, hashlib, re and str; the Go side must reproduce every one.

type typedValue struct {
	T string          `json:"t"`
	V json.RawMessage `json:"v"`
}

func decodeTyped(t *testing.T, tv typedValue) any {
	t.Helper()
	switch tv.T {
	case "none":
		return nil
	case "bool":
		var b bool
		mustUnmarshal(t, tv.V, &b)
		return b
	case "int":
		var s string
		mustUnmarshal(t, tv.V, &s)
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
		mustUnmarshal(t, tv.V, &s)
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
		mustUnmarshal(t, tv.V, &s)
		return s
	case "list":
		var items []typedValue
		mustUnmarshal(t, tv.V, &items)
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = decodeTyped(t, it)
		}
		return out
	case "dict":
		var pairs [][2]typedValue
		mustUnmarshal(t, tv.V, &pairs)
		strKeys := true
		for _, p := range pairs {
			strKeys = strKeys && p[0].T == "str"
		}
		if strKeys {
			m := map[string]any{}
			for _, p := range pairs {
				m[decodeTyped(t, p[0]).(string)] = decodeTyped(t, p[1])
			}
			return m
		}
		m := map[any]any{}
		for _, p := range pairs {
			m[decodeTyped(t, p[0])] = decodeTyped(t, p[1])
		}
		return m
	}
	t.Fatalf("unknown type %q", tv.T)
	return nil
}

func mustUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

type vectorFile struct {
	Floats []struct {
		Hex, Repr, JSON string
	} `json:"floats"`
	JSON []struct {
		Value   typedValue `json:"value"`
		JSON    string     `json:"json"`
		EnvHash string     `json:"env_hash"`
	} `json:"json"`
	Sessions []struct {
		Alias     string     `json:"alias"`
		LineageID string     `json:"lineage_id"`
		Env       typedValue `json:"env"`
		EnvHash   string     `json:"env_hash"`
		SessionID string     `json:"session_id"`
	} `json:"sessions"`
	Lineages []struct {
		Lineage, ID string
	} `json:"lineages"`
	Sanitize []struct {
		In  string `json:"in"`
		Out string `json:"out"`
	} `json:"sanitize"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	mustUnmarshal(t, data, &v)
	if len(v.Floats) < 1000 || len(v.JSON) < 100 || len(v.Sessions) < 20 || len(v.Sanitize) < 20 {
		t.Fatalf("vector file looks truncated: %d floats, %d json, %d sessions, %d names",
			len(v.Floats), len(v.JSON), len(v.Sessions), len(v.Sanitize))
	}
	return v
}

func TestVectorsFloatRepr(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Floats {
		f, err := strconv.ParseFloat(c.Hex, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := PyFloatRepr(f); got != c.Repr {
			t.Errorf("PyFloatRepr(%s) = %q, Python repr %q", c.Hex, got, c.Repr)
		}
		if got, _ := PythonJSON(f); string(got) != c.JSON {
			t.Errorf("PythonJSON(%s) = %q, Python json %q", c.Hex, got, c.JSON)
		}
	}
}

func TestVectorsJSONAndEnvironmentHash(t *testing.T) {
	v := loadVectors(t)
	for i, c := range v.JSON {
		val := decodeTyped(t, c.Value)
		got, err := PythonJSON(val)
		if err != nil {
			t.Errorf("#%d PythonJSON: %v", i, err)
			continue
		}
		if string(got) != c.JSON {
			t.Errorf("#%d PythonJSON =\n%s\nPython:\n%s", i, got, c.JSON)
		}
		h, err := EnvironmentHash(val)
		if err != nil || h != c.EnvHash {
			t.Errorf("#%d EnvironmentHash = %s, %v; Python %s", i, h, err, c.EnvHash)
		}
	}
}

func TestVectorsSessionID(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Sessions {
		h, err := EnvironmentHash(decodeTyped(t, c.Env))
		if err != nil || h != c.EnvHash {
			t.Fatalf("EnvironmentHash = %s, %v; want %s", h, err, c.EnvHash)
		}
		if got := ID(c.Alias, c.LineageID, h); got != c.SessionID {
			t.Errorf("ID(%q, %s, %s) = %s, Python %s", c.Alias, c.LineageID, h, got, c.SessionID)
		}
	}
	for _, c := range v.Lineages {
		if got := sha256Hex(c.Lineage); got != c.ID {
			t.Errorf("lineage hash of %q = %s, Python %s", c.Lineage, got, c.ID)
		}
	}
}

func TestVectorsSanitize(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Sanitize {
		if got := SanitizeName(c.In); got != c.Out {
			t.Errorf("SanitizeName(%q) = %q, Python %q", c.In, got, c.Out)
		}
	}
}

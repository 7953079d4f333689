package pyjson

import (
	"strconv"
	"testing"

	"github.com/pfz-cli/pfz/internal/pyjson/pyjsontest"
)

// The vectors were computed by scripts/gen_session_vectors.py with Python's
// own repr and json.dumps(v, sort_keys=True); the Go side must reproduce
// every one.
type vectorFile struct {
	Floats []struct {
		Hex, Repr, JSON string
	} `json:"floats"`
	JSON []struct {
		Value pyjsontest.Typed `json:"value"`
		JSON  string           `json:"json"`
	} `json:"json"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	var v vectorFile
	pyjsontest.ReadVectors(t, &v)
	if len(v.Floats) < 1000 || len(v.JSON) < 100 {
		t.Fatalf("vector file looks truncated: %d floats, %d json", len(v.Floats), len(v.JSON))
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
		if got := FloatRepr(f); got != c.Repr {
			t.Errorf("FloatRepr(%s) = %q, Python repr %q", c.Hex, got, c.Repr)
		}
		if got, _ := Dumps(f); string(got) != c.JSON {
			t.Errorf("Dumps(%s) = %q, Python json %q", c.Hex, got, c.JSON)
		}
	}
}

func TestVectorsJSON(t *testing.T) {
	v := loadVectors(t)
	for i, c := range v.JSON {
		val := pyjsontest.Value(t, c.Value)
		got, err := Dumps(val)
		if err != nil {
			t.Errorf("#%d Dumps: %v", i, err)
			continue
		}
		if string(got) != c.JSON {
			t.Errorf("#%d Dumps =\n%s\nPython:\n%s", i, got, c.JSON)
		}
		if text := Text(val); text != c.JSON {
			t.Errorf("#%d Text =\n%s\nPython:\n%s", i, text, c.JSON)
		}
	}
}

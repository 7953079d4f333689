package requirements

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestSplitLinesVectors compares with what Python's open(path).read().splitlines()
// returned for the same bytes (scripts/gen_session_vectors.py).
func TestSplitLinesVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "splitlines.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Data  string   `json:"data"`
			Lines []string `json:"lines"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 10 {
		t.Fatalf("only %d vectors", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		// data holds each byte as a latin-1 code point.
		data := make([]byte, 0, len(v.Data))
		for _, r := range v.Data {
			data = append(data, byte(r))
		}
		got, err := SplitLines(data)
		if err != nil {
			t.Errorf("SplitLines(%q): %v", data, err)
			continue
		}
		if diff := cmp.Diff(v.Lines, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("SplitLines(%q) mismatch with Python (-python +go):\n%s", data, diff)
		}
		f, _ := Parse("r", data)
		if diff := cmp.Diff(v.Lines, f.Lines(), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Lines(%q) mismatch with Python (-python +go):\n%s", data, diff)
		}
	}
}

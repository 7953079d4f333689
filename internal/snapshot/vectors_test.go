package snapshot

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

// TestAMLHashVectors checks HashFile and Hash(context.Background(), ListDir) against the Azure ML
// content hashes in conformance/vectors/aml_hash.json. A vector whose file is
// not in the corpus is reported and skipped; the test fails if none could be
// checked.
func TestAMLHashVectors(t *testing.T) {
	conf := shared.Path(t, "conformance")
	data, err := os.ReadFile(filepath.Join(conf, "vectors", "aml_hash.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Files   map[string]string `json:"files"`
		Folders map[string]string `json:"folders"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, rel := range sortedKeys(v.Files) {
		p := filepath.Join(conf, filepath.FromSlash(rel))
		if _, err := os.Stat(p); err != nil {
			t.Logf("not in the corpus, not checked: %s", rel)
			continue
		}
		got, err := HashFile(context.Background(), p)
		if err != nil {
			t.Errorf("HashFile(context.Background(), %s): %v", rel, err)
			continue
		}
		if got != v.Files[rel] {
			t.Errorf("HashFile(context.Background(), %s) = %s, want %s", rel, got, v.Files[rel])
		}
		checked++
	}
	for _, rel := range sortedKeys(v.Folders) {
		p := filepath.Join(conf, filepath.FromSlash(rel))
		if _, err := os.Stat(p); err != nil {
			t.Logf("not in the corpus, not checked: %s", rel)
			continue
		}
		files, err := ListDir(context.Background(), p)
		if err != nil {
			t.Errorf("ListDir(%s): %v", rel, err)
			continue
		}
		got, err := Hash(context.Background(), files)
		if err != nil {
			t.Errorf("Hash(context.Background(), %s): %v", rel, err)
			continue
		}
		if got != v.Folders[rel] {
			t.Errorf("Hash(context.Background(), ListDir(%s)) = %s, want %s", rel, got, v.Folders[rel])
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no vector could be checked")
	}
	t.Logf("checked %d of %d vectors", checked, len(v.Files)+len(v.Folders))
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

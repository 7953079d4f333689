package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A run.json of a newer schema is refused, not misread (issue 9, item 11).
func TestLoadRefusesANewerSchema(t *testing.T) {
	dir := t.TempDir()
	if err := Save(dir, &Record{Name: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, RecordFile)
	b, _ := os.ReadFile(p)
	b = []byte(strings.Replace(string(b), `"schema": 1`, `"schema": 2`, 1))
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "schema version 2") {
		t.Fatalf("err = %v", err)
	}
}

// A lines.jsonl that is not what pfz wrote is an error naming the line,
// never a run with no lines (issue 9, item 11); a torn last line is not.
func TestGarbageLinesFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, LinesFile)
	good := `{"line_number":0,"status":"Completed"}` + "\n"
	for _, tc := range []struct {
		text string
		bad  bool
	}{
		{good + "\n" + `{"line_number":1,"status":"Failed"}` + "\n" + `{"line_num`, false},
		{"this is not json\nnor this\n", true},
		{good + "garbage\n", true},
		{good + `{"x":1}` + "\n", true},
	} {
		if err := os.WriteFile(p, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Details(dir, 0)
		if tc.bad != (err != nil) {
			t.Errorf("%q: err = %v", tc.text, err)
		}
		if tc.bad && (!strings.Contains(err.Error(), "is not a line record") || !strings.Contains(err.Error(), "line ")) {
			t.Errorf("%q: err = %v", tc.text, err)
		}
	}
}

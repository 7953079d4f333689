package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchFile writes the benchmarks' 10,000-line jsonl file (about 11 MB) and
// sets the bytes each iteration reads.
func benchFile(b *testing.B) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "d.jsonl")
	var sb strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&sb, "{\"question\": %q, \"n\": %d, \"score\": 0.5}\n", strings.Repeat("x", 1024), i)
	}
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	return p
}

// BenchmarkReadJSONL reads a 10,000-line jsonl file (about 11 MB) whole:
// the first pass that learns the columns (so a row lacking one gets NaN)
// plus the rows themselves. docs/benchmarks.md has the numbers.
func BenchmarkReadJSONL(b *testing.B) {
	p := benchFile(b)
	for b.Loop() {
		r, err := Open(context.Background(), p)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, _, err := r.Next(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
	}
}

// BenchmarkColumnPass is the first pass alone (what the column union costs
// on top of reading the rows).
func BenchmarkColumnPass(b *testing.B) {
	p := benchFile(b)
	for b.Loop() {
		if _, err := columnUnion(context.Background(), []string{p}); err != nil {
			b.Fatal(err)
		}
	}
}

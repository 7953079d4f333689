package ctxio_test

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/pfz-cli/pfz/internal/ctxio"
	"github.com/pfz-cli/pfz/internal/testutil/need"
)

// Reading /dev/zero, which never ends, stops once the context is canceled.
func TestReaderStopsAnEndlessRead(t *testing.T) {
	f, err := os.Open("/dev/zero")
	if err != nil {
		need.Missing(t, "no /dev/zero here: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	r := ctxio.Reader(ctx, f)
	buf := make([]byte, 1<<20)
	for i := 0; i < 4; i++ {
		if _, err := r.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	n, err := io.Copy(io.Discard, r)
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("after cancel: %d bytes, %v", n, err)
	}
}

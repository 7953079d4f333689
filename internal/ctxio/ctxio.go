// Package ctxio keeps long reads of user input bounded: a reader that
// returns the context's error on the first Read after it is done, so
// hashing, copying or scanning a large input ends promptly on Ctrl-C or
// SIGTERM, and a check that refuses inputs that are not regular files (a
// pipe blocks when opened and can be read once; /dev/zero never ends).
package ctxio

import (
	"context"
	"io"
	"os"

	"github.com/pfz-cli/pfz/internal/fault"
)

// CheckRegular refuses a path that is not a regular file or a folder (st
// is from os.Stat, so a symlink to a regular file passes) with a
// validation error (exit 2) saying what it is.
func CheckRegular(path string, st os.FileInfo) error {
	if st.Mode().IsRegular() || st.IsDir() {
		return nil
	}
	m := st.Mode()
	switch {
	case m&os.ModeNamedPipe != 0:
		return fault.New(fault.Validation, "%s is a named pipe (FIFO), not a regular file", path).
			WithHint("pfz reads its input several times (to hash, check and run it), which a pipe cannot give: save it to a file first (… > data.jsonl) and pass that")
	case m&os.ModeCharDevice != 0, m&os.ModeDevice != 0:
		return fault.New(fault.Validation, "%s is a device, not a regular file", path).
			WithHint("pass a data file (.jsonl, .json, .csv, .tsv) or a folder of them")
	case m&os.ModeSocket != 0:
		return fault.New(fault.Validation, "%s is a socket, not a regular file", path).
			WithHint("pass a data file (.jsonl, .json, .csv, .tsv) or a folder of them")
	}
	return fault.New(fault.Validation, "%s is not a regular file", path).
		WithHint("pass a data file (.jsonl, .json, .csv, .tsv) or a folder of them")
}

// Reader returns r reading until ctx is done; from then on every Read
// returns ctx.Err(). Each Read is checked, so a read stops within one
// buffer's worth of data.
func Reader(ctx context.Context, r io.Reader) io.Reader {
	if ctx.Done() == nil {
		return r
	}
	return &reader{ctx: ctx, r: r}
}

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c *reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

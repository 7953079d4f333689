package snapshot

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// zipEpoch is the one timestamp written into generated zips, so the same
// folder always zips to the same bytes (and so to the same content hash).
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// zipFolder zips the folder folderAbs for an include written as "<stem>.zip"
// (pfazure-surface.md §3.8): a folder entry "<stem>/" and then every file that
// is not ignored, as "<stem>/<path>", in path order, with fixed times and
// modes. Ignore rules see the files as "<stem>/<path>" (the root rules) and
// as "<path>" (the folder's own ignore file). Problems are added to w.
func (w *walker) zipFolder(src *source, folderAbs, folderReal, stem string) ([]byte, bool) {
	before := len(w.diags.Errors())
	tree := newDir(stem, src.origin, folderAbs)
	if err := w.walkInto(src, tree, folderAbs, folderReal, stem, "", nil); err != nil {
		return nil, false
	}
	if len(w.diags.Errors()) > before {
		return nil, false
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: stem + "/", Method: zip.Store, Modified: zipEpoch}
	hdr.SetMode(fs.ModeDir | 0o755)
	if _, err := zw.CreateHeader(hdr); err != nil {
		w.problem(CodeUnreadable, folderAbs, fmt.Sprintf("cannot zip %s: %v", folderAbs, err), "")
		return nil, false
	}
	copyBuf := make([]byte, 64<<10)
	for _, e := range flatten(tree) {
		mode := fs.FileMode(0o644)
		if st, err := os.Stat(e.n.abs); err == nil && st.Mode().Perm()&0o111 != 0 {
			mode = 0o755
		}
		hdr := &zip.FileHeader{Name: stem + "/" + e.rel, Method: zip.Deflate, Modified: zipEpoch}
		hdr.SetMode(mode)
		dst, err := zw.CreateHeader(hdr)
		if err == nil {
			err = copyChecked(dst, e.n, copyBuf)
		}
		if err != nil {
			w.problem(CodeUnreadable, e.n.shown, fmt.Sprintf("cannot zip %s: %v", e.n.shown, unwrapPathError(err)),
				"fix the file's permissions, or exclude it in the folder's .amlignore")
			return nil, false
		}
	}
	if err := zw.Close(); err != nil {
		w.problem(CodeUnreadable, folderAbs, fmt.Sprintf("cannot zip %s: %v", folderAbs, err), "")
		return nil, false
	}
	return buf.Bytes(), true
}

// copyChecked copies a file node to dst and fails when its size changed since
// it was listed.
func copyChecked(dst io.Writer, n *node, buf []byte) error {
	if n.hasContent {
		_, err := dst.Write(n.content)
		return err
	}
	f, err := os.Open(n.abs)
	if err != nil {
		return err
	}
	defer f.Close()
	got, err := io.CopyBuffer(dst, f, buf)
	if err != nil {
		return err
	}
	if got != n.size {
		return errChanged
	}
	return nil
}

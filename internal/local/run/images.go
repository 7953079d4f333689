package run

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"

	"github.com/pfz-cli/pfz/internal/atomicfile"
	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// ImagesDir is the run folder's subfolder that holds the images of its
// records: each image a tool returned (sent as base64) and each image file a
// line read as an input, so the run stays whole when the data moves. The
// records refer to them as {"data:<mime>;path": "images/<id>.<ext>"},
// relative to the run folder, as promptflow's run folders refer to theirs.
const ImagesDir = "images"

// storeImages returns v with every image in it stored under dir/images and
// replaced by a reference to the file. Values without images come back as
// they are. A file that cannot be written or read is an error: an image is
// never dropped silently.
func storeImages(dir string, v any) (any, error) {
	if !hasImage(v) {
		return v, nil
	}
	return storeWalk(dir, v)
}

func hasImage(v any) bool {
	if _, _, _, ok := executor.ImageRef(v); ok {
		return true
	}
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if hasImage(e) {
				return true
			}
		}
	case pyjson.Object:
		for _, m := range x {
			if hasImage(m.Value) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasImage(e) {
				return true
			}
		}
	case pyjson.Tuple:
		return hasImage([]any(x))
	}
	return false
}

func storeWalk(dir string, v any) (any, error) {
	if mt, kind, payload, ok := executor.ImageRef(v); ok {
		return storeImage(dir, mt, kind, payload, v)
	}
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			s, err := storeWalk(dir, e)
			if err != nil {
				return nil, err
			}
			m[k] = s
		}
		return m, nil
	case pyjson.Object:
		o := make(pyjson.Object, len(x))
		for i, m := range x {
			s, err := storeWalk(dir, m.Value)
			if err != nil {
				return nil, err
			}
			o[i] = pyjson.Member{Key: m.Key, Value: s}
		}
		return o, nil
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			var err error
			if s[i], err = storeWalk(dir, e); err != nil {
				return nil, err
			}
		}
		return s, nil
	case pyjson.Tuple:
		s, err := storeWalk(dir, []any(x))
		if err != nil {
			return nil, err
		}
		return pyjson.Tuple(s.([]any)), nil
	}
	return v, nil
}

func storeImage(dir, mt, kind, payload string, orig any) (any, error) {
	var data []byte
	switch kind {
	case "base64":
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return nil, fmt.Errorf("an image output is not valid base64: %w", err)
		}
		data = b
	case "path":
		if !filepath.IsAbs(payload) || strings.HasPrefix(payload, filepath.Join(dir, ImagesDir)+string(filepath.Separator)) {
			return orig, nil // already the run's own, or relative to a folder we do not know
		}
		b, err := os.ReadFile(payload)
		if err != nil {
			return nil, fault.Wrap(fault.Failed, err, "cannot keep the image %s in the run", payload)
		}
		data = b
	default:
		return orig, nil // a URL stays a URL
	}
	// Named by content: the same image kept by a node record and a line
	// record is one file, and a rewrite after a crash is the same file.
	sum := sha256.Sum256(data)
	rel := ImagesDir + "/" + hex.EncodeToString(sum[:16]) + imageExt(mt)
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if st, err := os.Stat(p); err == nil && st.Size() == int64(len(data)) {
		return map[string]any{"data:" + mt + ";path": rel}, nil
	}
	if err := atomicfile.Write(p, data, atomicfile.Options{}); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot keep the image %s in the run", p).
			WithHint("check the free space of %s", dir)
	}
	return map[string]any{"data:" + mt + ";path": rel}, nil
}

// imageExt is the file extension promptflow gives an image of type mt.
func imageExt(mt string) string {
	switch mt {
	case "image/jpeg", "image/jpg":
		return ".jpg"
	case "image/png", "image/*":
		return ".png"
	}
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return exts[0]
	}
	if _, sub, ok := strings.Cut(mt, "/"); ok && sub != "" && !strings.ContainsAny(sub, `/\.*`) {
		return "." + sub
	}
	return ".png"
}

// AbsImages returns v with every image reference whose path is relative
// (to the run folder dir, as a run's records write them) made absolute, so
// a run that reads another's records (an evaluation run's
// ${run.outputs.x}) loads the images from that run's folder, as promptflow
// does. Other values come back as they are. A relative path that leaves
// the run folder (../x, records edited or copied in) is an error: an
// evaluation must not read, and send to a model, a file elsewhere.
func AbsImages(dir string, v any) (any, error) {
	if !hasImage(v) {
		return v, nil
	}
	if mt, kind, payload, ok := executor.ImageRef(v); ok {
		if kind == "path" && !filepath.IsAbs(payload) {
			rel := filepath.FromSlash(payload)
			if !filepath.IsLocal(rel) {
				return nil, fmt.Errorf("the records of %s name an image outside the run's folder: %q", dir, payload)
			}
			return map[string]any{"data:" + mt + ";path": filepath.Join(dir, rel)}, nil
		}
		return v, nil
	}
	var err error
	abs := func(e any) any {
		if err != nil {
			return e
		}
		var out any
		out, err = AbsImages(dir, e)
		return out
	}
	switch x := v.(type) {
	case pyjson.Object:
		o := make(pyjson.Object, len(x))
		for i, e := range x {
			o[i] = pyjson.Member{Key: e.Key, Value: abs(e.Value)}
		}
		return o, err
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = abs(e)
		}
		return m, err
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = abs(e)
		}
		return s, err
	}
	return v, nil
}

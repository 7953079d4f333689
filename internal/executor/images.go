package executor

import (
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// Image values travel as promptflow writes them: a one-key object whose key
// names the mime type and the form, {"data:image/png;path": "logo.png"},
// {"data:image/png;base64": "iVBOR…"} or {"data:image/png;url": "https://…"}.
// The python worker turns each into an Image object for the tool, and an
// Image a tool returns comes back in the base64 form; the run's writer
// stores those as files.
var imageKey = regexp.MustCompile(`^data:(image/[^;]+);(base64|path|url)$`)

// ImageRef reports whether v is an image reference and returns its parts.
func ImageRef(v any) (mimeType, kind, payload string, ok bool) {
	if o, isObj := v.(pyjson.Object); isObj && len(o) == 1 {
		v = o.Map()
	}
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", "", "", false
	}
	for k, p := range m {
		s, isStr := p.(string)
		parts := imageKey.FindStringSubmatch(k)
		if parts == nil || !isStr {
			return "", "", "", false
		}
		return parts[1], parts[2], s, true
	}
	return "", "", "", false
}

// imageInputs resolves the images of a flow input's value: the whole value
// of an image input, the image objects inside a list or object input (as
// promptflow loads the images of chat and composite inputs).
func (r *runner) imageInputs(v any, t flow.ValueType, fromDefault bool) (any, error) {
	switch t {
	case "image":
		return r.imageInput(v, fromDefault)
	case "list", "object":
		return r.nestedImages(v, fromDefault)
	}
	return v, nil
}

func (r *runner) nestedImages(v any, fromDefault bool) (any, error) {
	if _, _, _, ok := ImageRef(v); ok {
		return r.imageInput(v, fromDefault)
	}
	var err error
	switch x := v.(type) {
	case pyjson.Object:
		o := make(pyjson.Object, len(x))
		for i, e := range x {
			o[i].Key = e.Key
			if o[i].Value, err = r.nestedImages(e.Value, fromDefault); err != nil {
				return nil, err
			}
		}
		return o, nil
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			if m[k], err = r.nestedImages(e, fromDefault); err != nil {
				return nil, err
			}
		}
		return m, nil
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			if s[i], err = r.nestedImages(e, fromDefault); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	return v, nil
}

// flexImages is a flex entry's input value: image references at any depth
// stay references (promptflow does not load them for a flex entry), a
// relative path made absolute from the data's folder (the flow folder for
// a default), as promptflow resolves the data before the line.
func (r *runner) flexImages(v any, fromDefault bool) any {
	if mt, kind, payload, ok := ImageRef(v); ok {
		if kind != "path" || filepath.IsAbs(payload) {
			return v
		}
		base := r.dataDir()
		if fromDefault || base == "" {
			base = r.dir
		}
		return map[string]any{"data:" + mt + ";path": filepath.Join(base, filepath.FromSlash(payload))}
	}
	switch x := v.(type) {
	case pyjson.Object:
		o := make(pyjson.Object, len(x))
		for i, e := range x {
			o[i] = pyjson.Member{Key: e.Key, Value: r.flexImages(e.Value, fromDefault)}
		}
		return o
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = r.flexImages(e, fromDefault)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = r.flexImages(e, fromDefault)
		}
		return s
	}
	return v
}

var dataURI = regexp.MustCompile(`^data:(image/[^;,]+);base64,(.*)$`)

// imageInput turns the value of a flow input of type image into an image
// reference the worker can load, as promptflow reads it: a path in a
// reference object is relative to the data's folder; a plain string is a
// data URI, a URL, or a path relative to the flow folder (as is a default).
// A path that does not name a readable file fails the line here.
func (r *runner) imageInput(v any, fromDefault bool) (any, error) {
	switch x := v.(type) {
	case string:
		if m := dataURI.FindStringSubmatch(x); m != nil {
			return map[string]any{"data:" + m[1] + ";base64": m[2]}, nil
		}
		if strings.HasPrefix(x, "http://") || strings.HasPrefix(x, "https://") {
			return map[string]any{"data:" + imageMime(x) + ";url": x}, nil
		}
		return r.imagePath(imageMime(x), x, r.dir)
	case map[string]any, pyjson.Object:
		mt, kind, payload, ok := ImageRef(x)
		if !ok {
			return nil, fmt.Errorf("an image is a path, a data URI, a URL or an object like {\"data:image/png;path\": \"a.png\"}, not %s", jsonText(x))
		}
		if kind != "path" {
			return x, nil
		}
		base := r.dataDir()
		if fromDefault || base == "" {
			base = r.dir
		}
		return r.imagePath(mt, payload, base)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = r.imageInput(e, fromDefault); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("an image is a path, a data URI, a URL or an image object, not %s", jsonText(v))
}

func (r *runner) imagePath(mt, p, base string) (any, error) {
	abs := p
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(base, filepath.FromSlash(p))
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("(FileNotFoundError) no such file: %s (looked in %s)", p, base)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("(IsADirectoryError) %s is a folder, not an image", p)
	}
	return map[string]any{"data:" + mt + ";path": abs}, nil
}

// dataDir is the folder relative image paths of the data are read from.
func (r *runner) dataDir() string {
	if r.cfg.Data == "" {
		return ""
	}
	if st, err := os.Stat(r.cfg.Data); err == nil && st.IsDir() {
		return r.cfg.Data
	}
	return filepath.Dir(r.cfg.Data)
}

// imageMime guesses an image's mime type from its name ("image/*" when the
// extension says nothing; the worker then sniffs the bytes).
func imageMime(name string) string {
	if i := strings.IndexAny(name, "?#"); i >= 0 && strings.Contains(name, "://") {
		name = name[:i]
	}
	if t := mime.TypeByExtension(strings.ToLower(filepath.Ext(name))); strings.HasPrefix(t, "image/") {
		return t
	}
	return "image/*"
}

func jsonText(v any) string {
	b, _ := pyjson.Marshal(v)
	s := string(b)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

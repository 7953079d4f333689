package prompty

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Options are what Load needs from outside: the environment of the call
// (for ${env:…}), the file system (for ${file:…}, images and sample files)
// and the overrides Prompty.load(model=…, **kwargs) passes.
type Options struct {
	// Getenv looks up an environment variable of the session.
	Getenv func(name string) (string, bool)
	// ReadFile reads a file; paths are absolute.
	ReadFile func(path string) ([]byte, error)
	// Dir is the prompty file's folder; relative ${file:…} paths and image
	// paths start there.
	Dir string
	// WorkDir is the working folder; a sample given as a .json path is read
	// from there, as promptflow does.
	WorkDir string
	// Model is merged into the front matter's model, key by key.
	Model map[string]any
	// Extra is merged into the whole front matter, key by key.
	Extra map[string]any
	// FetchImage downloads an image given as data:image/…;url: URL.
	FetchImage func(ctx context.Context, url string) ([]byte, error)
}

// Prompty is a loaded prompty, ready to be called.
type Prompty struct {
	Spec     *Spec
	Config   map[string]any // the front matter after references and overrides
	API      string         // chat | completion
	Response string         // first | all
	// Configuration is model.configuration; Parameters model.parameters.
	Configuration map[string]any
	Parameters    map[string]any
	// Model is the deployment (azure_deployment) or model name.
	Model     string
	Signature []Input // the inputs a call takes, with defaults
	Outputs   []string
	opts      Options
}

// UserError is a mistake in the prompty or its inputs (promptflow raises a
// UserErrorException for it).
type UserError struct {
	Type string // promptflow's exception type name
	Msg  string
}

func (e *UserError) Error() string { return e.Msg }

func userErr(typ, format string, args ...any) error {
	return &UserError{Type: typ, Msg: fmt.Sprintf(format, args...)}
}

// Load resolves a parsed prompty as promptflow's Prompty(path, model,
// **kwargs) does: references in the front matter, then the overrides.
func Load(s *Spec, o Options) (*Prompty, error) {
	if o.Getenv == nil {
		o.Getenv = func(string) (string, bool) { return "", false }
	}
	cfg, err := o.resolveAll(s.Front)
	if err != nil {
		return nil, err
	}
	conf, _ := cfg.(map[string]any)
	if conf == nil {
		conf = map[string]any{}
	}
	if o.Extra != nil {
		ex, err := o.resolveAll(o.Extra)
		if err != nil {
			return nil, err
		}
		conf = mergeDicts(conf, ex.(map[string]any))
	}
	model, _ := conf["model"].(map[string]any)
	if model == nil {
		model = map[string]any{}
	}
	if o.Model != nil {
		mo, err := o.resolveAll(o.Model)
		if err != nil {
			return nil, err
		}
		model = mergeDicts(model, mo.(map[string]any))
	}
	conf["model"] = model
	p := &Prompty{Spec: s, Config: conf, API: "chat", Response: "first", opts: o}
	if v, ok := model["api"].(string); ok {
		p.API = v
	}
	if v, ok := model["response"].(string); ok {
		p.Response = v
	}
	if p.API != "chat" && p.API != "completion" {
		return nil, userErr("UserErrorException", "model.api must be chat or completion, got %q", p.API)
	}
	p.Configuration, _ = model["configuration"].(map[string]any)
	if p.Configuration == nil {
		if model["configuration"] != nil {
			return nil, userErr("UserErrorException", "model.configuration must be a mapping")
		}
		return nil, userErr("TypeError", "PromptyModelConfiguration.__init__() missing 2 required positional arguments: 'configuration' and 'parameters'")
	}
	p.Parameters, _ = model["parameters"].(map[string]any)
	if p.Parameters == nil {
		p.Parameters = map[string]any{}
	}
	if conn, _ := p.Configuration["connection"].(string); conn != "" {
		for k, v := range p.Configuration {
			switch k {
			case "type", "connection", "model", "azure_deployment":
				continue
			}
			if truthy(v) {
				return nil, userErr("InvalidConnectionError", "Cannot configure model config and connection in configuration at the same time.")
			}
		}
	}
	p.Model = textOf(p.Configuration["azure_deployment"])
	if p.Model == "" {
		p.Model = textOf(p.Configuration["model"])
	}
	if err := p.signature(); err != nil {
		return nil, err
	}
	if outs, ok := conf["outputs"].(map[string]any); ok {
		p.Outputs = orderedKeys(outs, s.outputOrder())
	}
	return p, nil
}

func (s *Spec) outputOrder() []string {
	var names []string
	for _, o := range s.Outputs {
		names = append(names, o.Name)
	}
	return names
}

func (s *Spec) inputOrder() []string {
	var names []string
	for _, in := range s.Inputs {
		names = append(names, in.Name)
	}
	return names
}

// orderedKeys lists a map's keys in the given order first, then the rest
// sorted (a map decoded from YAML or JSON has lost its order).
func orderedKeys(m map[string]any, order []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range order {
		if _, ok := m[k]; ok && !seen[k] {
			out = append(out, k)
			seen[k] = true
		}
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	case int:
		return x != 0
	case int64:
		return x != 0
	case float64:
		return x != 0
	case map[string]any:
		return len(x) > 0
	case []any:
		return len(x) > 0
	}
	return true
}

func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func (p *Prompty) signature() error {
	inputs, ok := p.Config["inputs"].(map[string]any)
	if ok && len(inputs) > 0 {
		for _, name := range orderedKeys(inputs, p.Spec.inputOrder()) {
			def, isMap := inputs[name].(map[string]any)
			if !isMap {
				return userErr("AttributeError", "input %q must be a mapping with a type", name)
			}
			in := Input{Name: name}
			in.Type, _ = def["type"].(string)
			in.Default, in.HasDefault = def["default"]
			p.Signature = append(p.Signature, in)
		}
		return nil
	}
	if p.Config["sample"] != nil {
		sample, err := p.sample()
		if err != nil {
			return err
		}
		for _, name := range orderedKeys(sample, nil) {
			p.Signature = append(p.Signature, Input{Name: name, Type: valueTypeOf(sample[name])})
		}
	}
	return nil
}

func valueTypeOf(v any) string {
	switch v.(type) {
	case bool:
		return "bool"
	case int, int64:
		return "int"
	case float64:
		return "double"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return "string"
}

// Sample is the front matter's sample as input values.
func (p *Prompty) Sample() (map[string]any, error) {
	if p.Config["sample"] == nil {
		return nil, nil
	}
	return p.sample()
}

func (p *Prompty) sample() (map[string]any, error) {
	switch x := p.Config["sample"].(type) {
	case map[string]any:
		return x, nil
	case string:
		if x == "" {
			return map[string]any{}, nil
		}
		if strings.HasSuffix(x, ".json") {
			path := strings.TrimPrefix(x, "file:")
			if !filepath.IsAbs(path) {
				path = filepath.Join(p.opts.WorkDir, path)
			}
			data, err := p.read(path)
			if err != nil {
				return nil, userErr("InvalidSampleError", "Cannot find sample file %s.", x)
			}
			v, err := decodeJSON(data)
			if err != nil {
				return nil, userErr("InvalidSampleError", "sample file %s is not JSON: %v", x, err)
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, userErr("InvalidSampleError", "sample file %s must hold a JSON object of input values", x)
			}
			return m, nil
		}
	}
	return nil, userErr("InvalidSampleError", "Only dict and json file are supported as sample in prompty.")
}

func (p *Prompty) read(path string) ([]byte, error) {
	if p.opts.ReadFile == nil {
		return nil, fmt.Errorf("cannot read %s", path)
	}
	return p.opts.ReadFile(path)
}

// mergeDicts is promptflow's update_dict_recursively: over's keys win,
// nested mappings merge.
func mergeDicts(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range over {
		if m, ok := v.(map[string]any); ok {
			b, _ := base[k].(map[string]any)
			if b == nil {
				b = map[string]any{}
			}
			out[k] = mergeDicts(b, m)
		} else {
			out[k] = v
		}
	}
	for k, v := range base {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// refRE is promptflow's reference: ${type:value}, matched at the start of
// the text and ending at its last }.
var refRE = regexp.MustCompile(`^\$\{([\p{L}\p{N}_]+):(.*)\}`)

func (o *Options) resolveAll(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return o.resolveRef(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := o.resolveAll(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := o.resolveAll(e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

func (o *Options) resolveRef(s string) (any, error) {
	m := refRE.FindStringSubmatch(s)
	if m == nil {
		return s, nil
	}
	typ, val := m[1], m[2]
	switch typ {
	case "env":
		if v, ok := o.Getenv(val); ok {
			return v, nil
		}
		return s, nil
	case "file":
		path := val
		if !filepath.IsAbs(path) && o.Dir != "" {
			path = filepath.Join(o.Dir, val)
		}
		if o.ReadFile == nil {
			return nil, userErr("UserErrorException", "Cannot find the reference file %s.", val)
		}
		data, err := o.ReadFile(path)
		if err != nil {
			return nil, userErr("UserErrorException", "Cannot find the reference file %s.", val)
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".json":
			v, err := decodeJSON(data)
			if err != nil {
				return nil, userErr("JSONDecodeError", "the reference file %s is not JSON: %v", val, err)
			}
			return v, nil
		case ".yml", ".yaml":
			var v any
			if err := yaml.Unmarshal(data, &v); err != nil {
				return nil, userErr("YAMLError", "the reference file %s is not YAML: %v", val, err)
			}
			return plainYAML(v), nil
		}
		return string(normalizeNewlines(data)), nil
	}
	return s, nil
}

// decodeJSON decodes JSON as Python's json.load: integers stay integers.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if !strings.ContainsAny(string(x), ".eE") {
			return x // an integer past int64 stays exact, as Python keeps it
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// Image is an image input: its bytes, MIME type and, for an image given
// by URL, the URL.
type Image struct {
	Data      []byte
	MIME      string
	SourceURL string
}

// Placeholder is how the image renders in the template (promptflow's
// Image.__str__), and how ParseChat finds it again.
func (im *Image) Placeholder() string {
	h := sha1.Sum(im.Data)
	return "Image(" + hex.EncodeToString(h[:])[:8] + ")"
}

// URL is the image_url of the image: its source URL, or a data URL.
func (im *Image) URL() string {
	if im.SourceURL != "" {
		return im.SourceURL
	}
	return "data:" + im.MIME + ";base64," + base64.StdEncoding.EncodeToString(im.Data)
}

var imageInputRE = regexp.MustCompile(`^data:image/(.*);(path|base64|url):[` + pyWS + `]*(.*)\n?$`)

// Call is one call's prepared inputs.
type Call struct {
	// Inputs are the values the template sees (images as their placeholder).
	Inputs map[string]any
	// Names lists the input names in signature order.
	Names  []string
	Images map[string]ImageURL // by placeholder
}

// ResolveInputs builds a call's inputs as promptflow does: the sample when
// no values are given, each declared input's value or default, images from
// data:image/…;path|base64|url: strings. Values of undeclared names are
// dropped.
func (p *Prompty) ResolveInputs(ctx context.Context, given map[string]any) (*Call, error) {
	if len(given) == 0 && p.Config["sample"] != nil {
		s, err := p.sample()
		if err != nil {
			return nil, err
		}
		given = s
	}
	c := &Call{Inputs: map[string]any{}, Images: map[string]ImageURL{}}
	var missing []string
	for _, in := range p.Signature {
		v, ok := given[in.Name]
		if !ok {
			if !in.HasDefault {
				missing = append(missing, "'"+in.Name+"'")
				continue
			}
			v = in.Default
		}
		c.Inputs[in.Name] = v
		c.Names = append(c.Names, in.Name)
	}
	if len(missing) > 0 {
		return nil, userErr("MissingRequiredInputError", "Missing required inputs: [%s]", strings.Join(missing, ", "))
	}
	for _, name := range c.Names {
		s, ok := c.Inputs[name].(string)
		if !ok {
			continue
		}
		im, err := p.image(ctx, s)
		if err != nil {
			return nil, err
		}
		if im != nil {
			ph := im.Placeholder()
			c.Inputs[name] = ph
			c.Images[ph] = ImageURL{URL: im.URL(), Detail: "auto"}
		}
	}
	return c, nil
}

func (p *Prompty) image(ctx context.Context, s string) (*Image, error) {
	m := imageInputRE.FindStringSubmatch(s)
	if m == nil {
		return nil, nil
	}
	mime := strings.ToLower("image/" + m[1])
	switch m[2] {
	case "path":
		path := m[3]
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.opts.Dir, path)
		}
		data, err := p.read(path)
		if err != nil {
			return nil, userErr("FileNotFoundError", "[Errno 2] No such file or directory: '%s'", path)
		}
		return &Image{Data: data, MIME: mime}, nil
	case "base64":
		b64 := m[3]
		if i := strings.LastIndexByte(b64, ','); i >= 0 {
			b64 = b64[i+1:]
		}
		data, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, userErr("Error", "the base64 image input is not valid base64: %v", err)
		}
		return &Image{Data: data, MIME: mime}, nil
	case "url":
		if p.opts.FetchImage == nil {
			return nil, userErr("InvalidImageInput", "Failed to fetch image from URL: %s.", m[3])
		}
		data, err := p.opts.FetchImage(ctx, m[3])
		if err != nil {
			return nil, userErr("InvalidImageInput", "Failed to fetch image from URL: %s. %v", m[3], err)
		}
		return &Image{Data: data, MIME: mime, SourceURL: m[3]}, nil
	}
	return nil, nil
}

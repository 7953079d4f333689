package pyjson

// Python values that plain JSON decoded into Go maps cannot carry: a dict's
// key order, a tuple, a generator inside a container. Values passed between
// flow nodes keep them, as promptflow keeps live Python objects in one
// process: a dict from the data or from a node reaches the next node, a
// template and the records in insertion order; a tuple stays a tuple for the
// next node; a generator inside a dict is passed on as a generator.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Member is one key and value of an Object.
type Member struct {
	Key   string
	Value any
	// NotStr: the Python key was an int, float, bool or None, and Key is its
	// json.dumps text (what records and flow outputs hold); a python node
	// reading the dict gets the key back as it was.
	NotStr bool
}

// Object is a JSON object (a Python dict) with its keys in insertion order.
// Decode makes one of every object it reads; keys are unique.
type Object []Member

// Get returns the value of key k.
func (o Object) Get(k string) (any, bool) {
	for i := range o {
		if o[i].Key == k {
			return o[i].Value, true
		}
	}
	return nil, false
}

// Keys lists the keys in order.
func (o Object) Keys() []string {
	keys := make([]string, len(o))
	for i, m := range o {
		keys[i] = m.Key
	}
	return keys
}

// Map is o as a Go map (the order is lost).
func (o Object) Map() map[string]any {
	m := make(map[string]any, len(o))
	for _, e := range o {
		m[e.Key] = e.Value
	}
	return m
}

// Set puts v under k: in its place when o has k, else last (a dict's
// assignment).
func (o *Object) Set(k string, v any) {
	for i := range *o {
		if (*o)[i].Key == k {
			(*o)[i].Value = v
			return
		}
	}
	*o = append(*o, Member{Key: k, Value: v})
}

// UnmarshalJSON reads a JSON object keeping its key order (null is a nil
// Object), so records typed Object read back in the order they were written.
func (o *Object) UnmarshalJSON(b []byte) error {
	v, err := Decode(b)
	if err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		*o = nil
	case Object:
		*o = x
	default:
		return fmt.Errorf("pyjson: a %T where an object was expected", v)
	}
	return nil
}

// MarshalJSON writes the members in order, as Python's json.dumps does.
func (o Object) MarshalJSON() ([]byte, error) {
	w := newValueWriter()
	err := w.object(o)
	return w.b.Bytes(), err
}

func (w *valueWriter) object(o Object) error {
	w.b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			w.b.WriteByte(',')
		}
		if err := w.value(m.Key); err != nil {
			return err
		}
		w.b.WriteByte(':')
		if err := w.value(m.Value); err != nil {
			return err
		}
	}
	w.b.WriteByte('}')
	return nil
}

// Tuple is a Python tuple. JSON has no tuple: records hold it as a list, as
// promptflow's do, but the next node receives a tuple.
type Tuple []any

// MarshalJSON writes the tuple as a list.
func (t Tuple) MarshalJSON() ([]byte, error) {
	w := newValueWriter()
	err := w.list(t)
	return w.b.Bytes(), err
}

func (w *valueWriter) list(items []any) error {
	w.b.WriteByte('[')
	for i, e := range items {
		if i > 0 {
			w.b.WriteByte(',')
		}
		if err := w.value(e); err != nil {
			return err
		}
	}
	w.b.WriteByte(']')
	return nil
}

// Generator is a generator a node returned (alone, or inside a dict or a
// list): the worker consumed it into its items, and a node reading it gets a
// new generator of the items not read yet, as promptflow passes the one
// generator on. The worker reports how far each reader read (Consumed), so
// the next reader and a flow output (Joined) see only the rest, as they
// would see it of the one live generator. Repr is Python's repr() of the
// original (`<generator object f at 0x…>`), which is what promptflow records
// for a value holding one (Record); a flow output holding one inside a
// container fails the line.
//
// An async generator and another iterator (a list_iterator, …) a node
// returned are passed on the same way: Kind is "generator",
// "async_generator" or "iterator", and Type an iterator's Python type name.
type Generator struct {
	Repr  string
	Kind  string
	Type  string
	mu    sync.Mutex
	items []any
}

// NewGenerator is a generator with the given repr and items.
func NewGenerator(repr string, items []any) *Generator {
	return &Generator{Repr: repr, Kind: "generator", items: items}
}

// Items are the items not read yet.
func (g *Generator) Items() []any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.items
}

// Consumed says a reader given items (an earlier Items) read n of them.
func (g *Generator) Consumed(items []any, n int) {
	if n <= 0 {
		return
	}
	rest := items[min(n, len(items)):]
	g.mu.Lock()
	if len(rest) < len(g.items) {
		g.items = rest
	}
	g.mu.Unlock()
}

// Joined is what promptflow makes of a generator as a flow output: its
// remaining items through str(), joined.
func (g *Generator) Joined() string {
	var b strings.Builder
	for _, x := range g.Items() {
		b.WriteString(Str(x))
	}
	return b.String()
}

// TypeName is the Python type name of what g stands for: "generator",
// "async_generator", or the iterator's type ("list_iterator").
func (g *Generator) TypeName() string {
	switch {
	case g.Type != "":
		return g.Type
	case g.Kind == "async_generator":
		return g.Kind
	}
	return "generator"
}

// ErrGenerator is the error of encoding a generator as JSON.
var ErrGenerator = errors.New("Object of type generator is not JSON serializable")

// Unserializable is json.dumps' error for g, in Python's words.
func (g *Generator) Unserializable() error {
	if g.TypeName() == "generator" {
		return ErrGenerator
	}
	return fmt.Errorf("Object of type %s is not JSON serializable", g.TypeName()) //nolint:staticcheck // Python's wording
}

// MarshalJSON fails: JSON cannot hold a generator (see Record).
func (g *Generator) MarshalJSON() ([]byte, error) { return nil, g.Unserializable() }

// HasGenerator reports whether v holds a Generator.
func HasGenerator(v any) bool { return FirstGenerator(v) != nil }

// FirstGenerator is the first Generator in v (in json.dumps' order), or nil.
func FirstGenerator(v any) *Generator {
	switch x := v.(type) {
	case *Generator:
		return x
	case Object:
		for _, m := range x {
			if g := FirstGenerator(m.Value); g != nil {
				return g
			}
		}
	case Tuple:
		return firstIn(x)
	case []any:
		return firstIn(x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if g := FirstGenerator(x[k]); g != nil {
				return g
			}
		}
	}
	return nil
}

func firstIn(items []any) *Generator {
	for _, e := range items {
		if g := FirstGenerator(e); g != nil {
			return g
		}
	}
	return nil
}

// Record is v as promptflow records a node's input or output: as it is when
// JSON can hold it, else its str() (a dict holding a generator).
func Record(v any) any {
	if HasGenerator(v) {
		return Str(v)
	}
	return v
}

// AsMap is v as a map when it is a JSON object (an Object or a map).
func AsMap(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case Object:
		return x.Map(), true
	}
	return nil, false
}

// AsObject is v as an Object when it is a JSON object: an Object as it is,
// a map (which has no order) with its keys sorted.
func AsObject(v any) (Object, bool) {
	switch x := v.(type) {
	case Object:
		return x, true
	case map[string]any:
		return ObjectOf(x), true
	}
	return nil, false
}

// ObjectOf is m as an Object, its keys sorted (a nil map is a nil Object).
func ObjectOf(m map[string]any) Object {
	if m == nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := make(Object, len(keys))
	for i, k := range keys {
		o[i] = Member{Key: k, Value: m[k]}
	}
	return o
}

// valueWriter writes values as encoding/json writes them without HTML
// escaping (NonFinite values as the marks Marshal replaces); kinds it does
// not know itself go through one reused json.Encoder.
type valueWriter struct {
	b       bytes.Buffer
	scratch bytes.Buffer
	enc     *json.Encoder
}

func newValueWriter() *valueWriter { return &valueWriter{} }

func (w *valueWriter) value(v any) error {
	b := &w.b
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
		return nil
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
		return nil
	case json.Number:
		if x == "" {
			b.WriteByte('0')
			return nil
		}
		if !validNumber(string(x)) {
			return errors.New("json: invalid number literal " + string(x))
		}
		b.WriteString(string(x))
		return nil
	case Object:
		return w.object(x)
	case Tuple:
		return w.list(x)
	case []any:
		if x == nil {
			b.WriteString("null") // as encoding/json writes a nil slice
			return nil
		}
		return w.list(x)
	case string:
		if plainASCII(x) {
			b.WriteByte('"')
			b.WriteString(x)
			b.WriteByte('"')
			return nil
		}
	}
	if w.enc == nil {
		w.enc = json.NewEncoder(&w.scratch)
		w.enc.SetEscapeHTML(false)
	}
	w.scratch.Reset()
	if err := w.enc.Encode(v); err != nil {
		return err
	}
	b.Write(w.scratch.Bytes()[:w.scratch.Len()-1]) // Encode's newline
	return nil
}

// plainASCII reports whether s is printable ASCII that needs no escaping.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// KeyUnion gathers the keys of several objects in the order they are first
// seen: the columns of a table whose rows are objects (a run's lines, whose
// keys come in the same order, or runs that share most of them).
type KeyUnion struct {
	seen map[string]bool
	keys []string
}

// Add adds o's keys that are not there yet, in o's order.
func (u *KeyUnion) Add(o Object) {
	if u.seen == nil {
		u.seen = map[string]bool{}
	}
	for _, m := range o {
		if !u.seen[m.Key] {
			u.seen[m.Key] = true
			u.keys = append(u.keys, m.Key)
		}
	}
}

// Keys lists the keys gathered.
func (u *KeyUnion) Keys() []string { return u.keys }

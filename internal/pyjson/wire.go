package pyjson

import (
	"fmt"
	"sort"
)

// Between pfz and its python workers, what JSON cannot say travels as a
// one-key object whose key is TagKey and whose value is [kind, payload]:
//
//	{"\u0000pfz": ["tuple", [items...]]}
//	{"\u0000pfz": ["generator", [repr, [items...], id]]}   id: see Wire
//	{"\u0000pfz": ["async_generator", [repr, [items...], id]]}
//	{"\u0000pfz": ["iterator", [repr, [items...], id, type name]]}
//	{"\u0000pfz": ["dict", [[key, value], [key, value, 1], ...]]}
//
// A dict is tagged when it has TagKey as a key, or keys that are not
// strings: such a pair has a third item, and its key is json.dumps of the
// Python key (an int, float, bool or None; Member.NotStr).
//
// The worker writes them for a node's output and reads them back into a
// tuple, a new generator (async generator, iterator) and a dict for the next
// node; DecodeWire and Wire are the Go side. Records never hold a tag: a
// Tuple is written as a list.
const TagKey = "\x00pfz"

func untag(v any) (any, error) {
	pair, ok := v.([]any)
	if !ok || len(pair) != 2 {
		return nil, fmt.Errorf("malformed tagged value from the python worker")
	}
	kind, _ := pair[0].(string)
	items, _ := pair[1].([]any)
	switch kind {
	case "tuple":
		if items == nil {
			items = []any{}
		}
		return Tuple(items), nil
	case "generator", "async_generator", "iterator":
		if len(items) >= 2 {
			r, ok1 := items[0].(string)
			gi, ok2 := items[1].([]any)
			if ok1 && ok2 {
				g := NewGenerator(r, gi)
				g.Kind = kind
				if len(items) >= 4 {
					g.Type, _ = items[3].(string)
				}
				return g, nil
			}
		}
	case "dict":
		o := make(Object, 0, len(items))
		for _, it := range items {
			kv, ok := it.([]any)
			if !ok || len(kv) < 2 || len(kv) > 3 {
				return nil, fmt.Errorf("malformed tagged dict from the python worker")
			}
			k, ok := kv[0].(string)
			if !ok {
				return nil, fmt.Errorf("malformed tagged dict from the python worker")
			}
			o = append(o, Member{Key: k, Value: kv[1], NotStr: len(kv) == 3})
		}
		return o, nil
	}
	return nil, fmt.Errorf("unknown tagged value %q from the python worker", kind)
}

func tag(kind string, payload any) Object {
	return Object{{Key: TagKey, Value: []any{kind, payload}}}
}

// Sent lists the generators a message to a worker holds, by the id Wire gave
// each, with the items each was sent with; the worker answers how many of
// them the call read.
type Sent []SentGenerator

// SentGenerator is one generator of a message and the items it was sent with.
type SentGenerator struct {
	G     *Generator
	Items []any
}

// Consumed applies the worker's answer: [id, items read] pairs.
func (s Sent) Consumed(pairs [][2]int) {
	for _, p := range pairs {
		if p[0] >= 0 && p[0] < len(s) {
			s[p[0]].G.Consumed(s[p[0]].Items, p[1])
		}
	}
}

// Wire is v as it is sent to a python worker: tuples, generators and dicts
// holding TagKey become tagged objects; each generator is added to sent.
// Containers are copied only when something inside them changes.
func Wire(v any, sent *Sent) any {
	w, _ := wire(v, sent)
	return w
}

func wire(v any, sent *Sent) (any, bool) {
	switch x := v.(type) {
	case Tuple:
		items, _ := wireList(x, sent)
		if items == nil {
			items = []any{}
		}
		return tag("tuple", items), true
	case *Generator:
		snap := x.Items()
		items, _ := wireList(snap, sent)
		if items == nil {
			items = []any{}
		}
		id := len(*sent)
		*sent = append(*sent, SentGenerator{G: x, Items: snap})
		kind := x.Kind
		if kind == "" {
			kind = "generator"
		}
		payload := []any{x.Repr, items, id}
		if kind == "iterator" {
			payload = append(payload, x.Type)
		}
		return tag(kind, payload), true
	case []any:
		return wireList(x, sent)
	case Object:
		var out Object
		tagged := false
		for i, m := range x {
			if m.Key == TagKey || m.NotStr {
				tagged = true
			}
			w, changed := wire(m.Value, sent)
			if changed && out == nil {
				out = append(make(Object, 0, len(x)), x...)
			}
			if out != nil {
				out[i].Value = w
			}
		}
		changed := out != nil
		if !changed {
			out = x
		}
		if tagged {
			pairs := make([]any, len(out))
			for i, m := range out {
				if m.NotStr {
					pairs[i] = []any{m.Key, m.Value, 1}
				} else {
					pairs[i] = []any{m.Key, m.Value}
				}
			}
			return tag("dict", pairs), true
		}
		return out, changed
	case map[string]any:
		if _, has := x[TagKey]; has {
			// Escaped as an Object's pairs (keys sorted: a map has no order).
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			o := make(Object, len(keys))
			for i, k := range keys {
				o[i] = Member{Key: k, Value: x[k]}
			}
			return wire(o, sent)
		}
		var out map[string]any
		for k, e := range x {
			if w, changed := wire(e, sent); changed {
				if out == nil {
					out = make(map[string]any, len(x))
					for k2, e2 := range x {
						out[k2] = e2
					}
				}
				out[k] = w
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}

func wireList(x []any, sent *Sent) ([]any, bool) {
	var out []any
	for i, e := range x {
		w, changed := wire(e, sent)
		if changed && out == nil {
			out = append(make([]any, 0, len(x)), x...)
		}
		if out != nil {
			out[i] = w
		}
	}
	if out == nil {
		return x, false
	}
	return out, true
}

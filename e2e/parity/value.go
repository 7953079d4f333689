package parity

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Values are what the two sides recorded, decoded from JSON as Python's
// json module writes it (NaN, Infinity and -Infinity allowed) without losing
// anything: a number keeps its literal, so an integer stays apart from a
// float of the same value (1 is not 1.0) and 2^63 stays 2^63, and an object
// keeps its keys in the order the side wrote them.
//
//	nil, bool, string, Number, []any, *Object

// Object is a JSON object with its keys in the order written. A repeated key
// keeps its first place and takes its last value, as json.loads builds a
// dict.
type Object struct {
	Keys []string // each key once, in the order written
	Vals map[string]any
}

func newObject() *Object { return &Object{Vals: map[string]any{}} }

// Set adds k at the end, or replaces its value where it is.
func (o *Object) Set(k string, v any) {
	if _, ok := o.Vals[k]; !ok {
		o.Keys = append(o.Keys, k)
	}
	o.Vals[k] = v
}

// without is o without key k (a copy; o itself is left as it is).
func (o *Object) without(k string) *Object {
	out := newObject()
	for _, key := range o.Keys {
		if key != k {
			out.Set(key, o.Vals[key])
		}
	}
	return out
}

// asObject is v as an object, nil for a value that is no object.
func asObject(v any) *Object {
	o, _ := v.(*Object)
	return o
}

// members is the object's key/value map, nil for a value that is no object.
func members(v any) map[string]any {
	if o, ok := v.(*Object); ok {
		return o.Vals
	}
	return nil
}

// Number is a JSON number literal (or NaN, Infinity, -Infinity).
type Number string

// IsInt says whether the literal is an integer (no fraction, no exponent).
func (n Number) IsInt() bool {
	return !strings.ContainsAny(string(n), ".eEaInN")
}

// float is the literal's value as a float64 (NaN and infinities included).
func (n Number) float() float64 {
	switch n {
	case "NaN":
		return math.NaN()
	case "Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	f, _ := strconv.ParseFloat(string(n), 64) // out of range gives ±Inf, as Python
	return f
}

// sameNumber compares as Python would compare the decoded values, except that
// an int never equals a float and NaN equals NaN.
func sameNumber(a, b Number) bool {
	if a.IsInt() != b.IsInt() {
		return false
	}
	if a.IsInt() {
		x, ok1 := new(big.Int).SetString(string(a), 10)
		y, ok2 := new(big.Int).SetString(string(b), 10)
		return ok1 && ok2 && x.Cmp(y) == 0
	}
	x, y := a.float(), b.float()
	return x == y || (math.IsNaN(x) && math.IsNaN(y))
}

// decodeJSON parses one JSON document in Python's dialect.
func decodeJSON(s string) (any, error) {
	p := &jsonParser{s: s}
	p.space()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, p.errorf("trailing text")
	}
	return v, nil
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("JSON at offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jsonParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *jsonParser) value() (any, error) {
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case strings.HasPrefix(p.s[p.i:], "true"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "false"):
		p.i += 5
		return false, nil
	case strings.HasPrefix(p.s[p.i:], "null"):
		p.i += 4
		return nil, nil
	case strings.HasPrefix(p.s[p.i:], "NaN"):
		p.i += 3
		return Number("NaN"), nil
	case strings.HasPrefix(p.s[p.i:], "Infinity"):
		p.i += 8
		return Number("Infinity"), nil
	case strings.HasPrefix(p.s[p.i:], "-Infinity"):
		p.i += 9
		return Number("-Infinity"), nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		p.i++
		for p.i < len(p.s) && strings.IndexByte("0123456789+-.eE", p.s[p.i]) >= 0 {
			p.i++
		}
		lit := p.s[start:p.i]
		if _, err := strconv.ParseFloat(lit, 64); err != nil && !strings.Contains(err.Error(), "range") {
			return nil, p.errorf("bad number %q", lit)
		}
		return Number(lit), nil
	default:
		return nil, p.errorf("unexpected %q", c)
	}
}

func (p *jsonParser) object() (any, error) {
	p.i++ // {
	m := newObject()
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return m, nil
	}
	for {
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.errorf("want a key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errorf("want ':'")
		}
		p.i++
		p.space()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m.Set(k, v)
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return m, nil
		}
		return nil, p.errorf("want ',' or '}'")
	}
}

func (p *jsonParser) array() (any, error) {
	p.i++ // [
	out := []any{}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return out, nil
	}
	for {
		p.space()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return out, nil
		}
		return nil, p.errorf("want ',' or ']'")
	}
}

// str reads a JSON string, escapes and surrogate pairs included.
func (p *jsonParser) str() (string, error) {
	p.i++ // "
	var b strings.Builder
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '"':
			p.i++
			return b.String(), nil
		case '\\':
			if p.i+1 >= len(p.s) {
				return "", p.errorf("unfinished escape")
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return "", err
				}
				if r >= 0xD800 && r < 0xDC00 && strings.HasPrefix(p.s[p.i:], `\u`) {
					save := p.i
					p.i += 2
					lo, err := p.hex4()
					if err == nil && lo >= 0xDC00 && lo < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					} else {
						p.i = save
					}
				}
				b.WriteRune(r)
			default:
				return "", p.errorf("bad escape \\%c", e)
			}
		default:
			r, n := utf8.DecodeRuneInString(p.s[p.i:])
			b.WriteRune(r)
			p.i += n
		}
	}
	return "", p.errorf("unfinished string")
}

func (p *jsonParser) hex4() (rune, error) {
	if p.i+4 > len(p.s) {
		return 0, p.errorf("short \\u escape")
	}
	v, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
	if err != nil {
		return 0, p.errorf("bad \\u escape")
	}
	p.i += 4
	return rune(v), nil
}

// show renders a value compactly for messages, numbers as their literals,
// an object's keys in the order the side wrote them and a map's sorted.
func show(v any) string {
	var b strings.Builder
	writeValue(&b, v)
	return b.String()
}

func writeValue(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case Number:
		b.WriteString(string(x))
	case string:
		b.WriteString(strconv.Quote(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	case *Object:
		writeMembers(b, x.Keys, x.Vals)
	case map[string]any:
		writeMembers(b, sortedKeys(x), x)
	default:
		fmt.Fprintf(b, "%v", x)
	}
}

func writeMembers(b *strings.Builder, keys []string, m map[string]any) {
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(k))
		b.WriteByte(':')
		writeValue(b, m[k])
	}
	b.WriteByte('}')
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// diffValues appends, for every place where a and b differ, the path below
// at (a.b[2]) and the two values. An object's keys must be the same and in
// the same order (Python keeps a dict's insertion order and json.dumps writes
// it): where the keys both sides have come in another order, the place is
// "PATH: key order" with each side's keys. A map (a line's inputs or
// outputs, the metrics: named by the flow, shown by pfz sorted) is compared
// as a set of keys.
func diffValues(at string, a, b any, out *[]valueDiff) {
	switch x := a.(type) {
	case *Object:
		y, ok := b.(*Object)
		if !ok {
			break
		}
		if !sameOrder(x, y) {
			*out = append(*out, valueDiff{at + ": key order", showKeys(x.Keys), showKeys(y.Keys)})
		}
		diffMembers(at, x.Vals, y.Vals, out)
		return
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		diffMembers(at, x, y, out)
		return
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			break
		}
		for i := range x {
			diffValues(fmt.Sprintf("%s[%d]", at, i), x[i], y[i], out)
		}
		return
	case Number:
		if y, ok := b.(Number); ok && sameNumber(x, y) {
			return
		}
	default:
		if a == b {
			return
		}
	}
	*out = append(*out, valueDiff{at, show(a), show(b)})
}

// diffMembers compares two objects' members, keys as a set, in key order.
func diffMembers(at string, x, y map[string]any, out *[]valueDiff) {
	keys := map[string]bool{}
	for k := range x {
		keys[k] = true
	}
	for k := range y {
		keys[k] = true
	}
	ks := make([]string, 0, len(keys))
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		av, aok := x[k]
		bv, bok := y[k]
		p := joinPath(at, k)
		switch {
		case !aok:
			*out = append(*out, valueDiff{p, "(absent)", show(bv)})
		case !bok:
			*out = append(*out, valueDiff{p, show(av), "(absent)"})
		default:
			diffValues(p, av, bv, out)
		}
	}
}

// sameOrder says whether the keys both objects have come in the same order
// in each (a key only one side has is a difference of its own).
func sameOrder(x, y *Object) bool {
	common := func(keys []string, other map[string]any) []string {
		var out []string
		for _, k := range keys {
			if _, ok := other[k]; ok {
				out = append(out, k)
			}
		}
		return out
	}
	return slices.Equal(common(x.Keys, y.Vals), common(y.Keys, x.Vals))
}

// showKeys lists keys as [a b c], each quoted only where it needs to be.
func showKeys(keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k
		if k == "" || strings.ContainsAny(k, " []\"") || strconv.Quote(k) != `"`+k+`"` {
			parts[i] = strconv.Quote(k)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func joinPath(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

type valueDiff struct {
	path, a, b string
}

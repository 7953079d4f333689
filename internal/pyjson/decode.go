package pyjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Decode reads one value of Python's JSON into the values flows carry: nil,
// bool, string, json.Number (its text kept), NonFinite, []any and Object
// (keys in the text's order; a repeated key keeps its first place and its
// last value, as json.loads builds a dict).
func Decode(data []byte) (any, error) {
	d := decoder{data: data}
	return d.top()
}

// DecodeWire is Decode for the worker protocol: it also reads the tagged
// objects the python worker writes for what JSON cannot say (a tuple, a
// generator inside a container, a dict that has the tag key itself), and the
// NonFinite marks Unmarshal puts in place of NaN and the infinities.
func DecodeWire(data []byte) (any, error) {
	d := decoder{data: data, wire: true}
	return d.top()
}

// maxDepth bounds nesting as encoding/json does.
const maxDepth = 10000

type decoder struct {
	data  []byte
	i     int
	depth int
	wire  bool
}

func (d *decoder) top() (any, error) {
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i < len(d.data) {
		return nil, d.errorf("invalid character %s after top-level value", d.char())
	}
	return v, nil
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf(format+" (at byte %d)", append(args, d.i)...)
}

func (d *decoder) char() string {
	if d.i >= len(d.data) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(d.data[d.i:])
	return fmt.Sprintf("%q", r)
}

func (d *decoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) lit(s string) bool {
	if len(d.data)-d.i >= len(s) && string(d.data[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

func (d *decoder) value() (any, error) {
	d.ws()
	if d.i >= len(d.data) {
		return nil, errors.New("unexpected end of JSON input")
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		return d.str()
	case c == 'n' && d.lit("null"):
		return nil, nil
	case c == 't' && d.lit("true"):
		return true, nil
	case c == 'f' && d.lit("false"):
		return false, nil
	case c == 'N' && d.lit(litNaN):
		return NonFinite(math.NaN()), nil
	case c == 'I' && d.lit(litInf):
		return NonFinite(math.Inf(1)), nil
	case c == '-' && d.lit(litNegInf):
		return NonFinite(math.Inf(-1)), nil
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return nil, d.errorf("invalid character %s looking for beginning of value", d.char())
}

func (d *decoder) number() (any, error) {
	start := d.i
	for d.i < len(d.data) {
		c := d.data[d.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			d.i++
			continue
		}
		break
	}
	s := string(d.data[start:d.i])
	if !validNumber(s) {
		d.i = start
		return nil, d.errorf("invalid number literal %q", s)
	}
	return json.Number(s), nil
}

// validNumber reports whether s is a JSON number literal.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

func (d *decoder) rawString() (string, error) {
	start := d.i
	d.i++ // the opening quote
	simple := true
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			body := d.data[start+1 : d.i-1]
			if simple && utf8.Valid(body) {
				return string(body), nil
			}
			var s string
			if err := json.Unmarshal(d.data[start:d.i], &s); err != nil {
				d.i = start
				return "", d.errorf("invalid string: %v", err)
			}
			return s, nil
		case c == '\\':
			simple = false
			d.i += 2
			continue
		case c < 0x20:
			return "", d.errorf("invalid character %s in string literal", d.char())
		}
		d.i++
	}
	return "", errors.New("unexpected end of JSON input")
}

func (d *decoder) str() (any, error) {
	s, err := d.rawString()
	if err != nil {
		return nil, err
	}
	if len(s) > 0 && s[0] == 0 {
		if nf, ok := nonFiniteOf(s); ok {
			return nf, nil
		}
	}
	return s, nil
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.errorf("exceeded max depth")
	}
	return nil
}

func (d *decoder) array() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	d.i++
	out := []any{}
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		return out, nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		d.ws()
		if d.i >= len(d.data) {
			return nil, errors.New("unexpected end of JSON input")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return out, nil
		default:
			return nil, d.errorf("invalid character %s after array element", d.char())
		}
	}
}

func (d *decoder) object() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	d.i++
	out := Object{}
	var index map[string]int // for large objects: key -> position
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		return out, nil
	}
	for {
		d.ws()
		if d.i >= len(d.data) || d.data[d.i] != '"' {
			return nil, d.errorf("invalid character %s looking for beginning of object key string", d.char())
		}
		k, err := d.rawString()
		if err != nil {
			return nil, err
		}
		d.ws()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return nil, d.errorf("invalid character %s after object key", d.char())
		}
		d.i++
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		if len(out) == 16 && index == nil {
			index = make(map[string]int, 32)
			for i, m := range out {
				index[m.Key] = i
			}
		}
		pos := -1
		if index != nil {
			if p, ok := index[k]; ok {
				pos = p
			}
		} else {
			for i := range out {
				if out[i].Key == k {
					pos = i
					break
				}
			}
		}
		if pos >= 0 {
			out[pos].Value = v
		} else {
			if index != nil {
				index[k] = len(out)
			}
			out = append(out, Member{Key: k, Value: v})
		}
		d.ws()
		if d.i >= len(d.data) {
			return nil, errors.New("unexpected end of JSON input")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			if d.wire && len(out) == 1 && out[0].Key == TagKey {
				return untag(out[0].Value)
			}
			return out, nil
		default:
			return nil, d.errorf("invalid character %s after object key:value pair", d.char())
		}
	}
}

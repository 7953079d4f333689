// Package pyjson owns pfz's rendering of values as Python's json.dumps
// renders them, byte for byte: prompt flow hashes that text (the session's
// environment hash) and sends it (pfazure's inputs_mapping, a flow's
// stringified environment_variables), so pfz must write what Python would.
//
// Dumps writes mappings with their keys sorted, as
// json.dumps(v, sort_keys=True) writes them. A Go map has no insertion order
// to keep, so plain json.dumps(v) — which keeps the order a dict was built
// in — cannot be reproduced from one; where Python would write a YAML
// mapping in the order of the file, pfz writes it sorted, which is the same
// text whenever the file's keys were in order and a stable text otherwise.
//
// Flow values (data rows, node outputs, records) are another matter: Decode
// reads every JSON object into an Object, which keeps its keys in order,
// and Marshal writes it so; Str and Repr print it so (object.go, wire.go).
package pyjson

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Dumps encodes v exactly as Python's json.dumps(v, sort_keys=True) does
// with its other defaults: separators ", " and ": ", ensure_ascii (every
// character outside printable ASCII as \uXXXX, surrogate pairs above the BMP),
// floats as repr() (NaN, Infinity and -Infinity allowed), keys sorted the way
// Python sorts them. It accepts what a YAML or JSON decoder produces: nil,
// bool, integers of any size (*big.Int, json.Number), floats, strings,
// slices, and maps with string or scalar keys. Anything else (a timestamp,
// say), a string that is not UTF-8, or keys Python could not sort is an
// error, as Python raises one.
func Dumps(v any) ([]byte, error) {
	e := encoder{}
	if err := e.encode(v); err != nil {
		return nil, err
	}
	return []byte(e.b.String()), nil
}

// Text is Dumps for text that is shown or sent and must not fail: a string
// that is not UTF-8 has each bad byte written as \ufffd, and a value Dumps
// refuses (a struct, a typed map) is first turned into the plain values
// encoding/json would decode it as; what even that cannot encode is null.
func Text(v any) string {
	e := encoder{lenient: true}
	if err := e.encode(v); err != nil {
		return "null"
	}
	return e.b.String()
}

type encoder struct {
	b       strings.Builder
	lenient bool
}

func (e *encoder) encode(v any) error {
	b := &e.b
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		return e.str(x)
	case float64:
		b.WriteString(floatJSON(x))
	case float32:
		b.WriteString(floatJSON(float64(x)))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int8, int16, int32, int64:
		b.WriteString(strconv.FormatInt(reflect.ValueOf(x).Int(), 10))
	case uint, uint8, uint16, uint32, uint64, uintptr:
		b.WriteString(strconv.FormatUint(reflect.ValueOf(x).Uint(), 10))
	case *big.Int:
		if x == nil {
			b.WriteString("null")
		} else {
			b.WriteString(x.String())
		}
	case json.Number:
		// What json.loads makes of the literal: an int, or a float.
		if n, ok := new(big.Int).SetString(x.String(), 10); ok {
			b.WriteString(n.String())
			return nil
		}
		f, err := strconv.ParseFloat(x.String(), 64)
		if err != nil && !isRangeErr(err) {
			if e.lenient {
				b.WriteString("null")
				return nil
			}
			return fmt.Errorf("%q is not a JSON number", x.String())
		}
		b.WriteString(floatJSON(f))
	case []any:
		return e.list(len(x), func(i int) any { return x[i] })
	case []string:
		return e.list(len(x), func(i int) any { return x[i] })
	case Tuple:
		return e.list(len(x), func(i int) any { return x[i] })
	case Object:
		// sort_keys=True: the order is the sorted one whatever the dict's.
		return e.encode(x.Map())
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		// Go compares strings by UTF-8 bytes, which orders valid UTF-8 by
		// code point, as Python orders str.
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := e.str(k); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := e.encode(x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return e.encode(m)
	case map[any]any:
		if e.lenient {
			// Keys Python could not sort make this mapping null, not the
			// whole text.
			c := encoder{lenient: true}
			if c.anyMap(x) != nil {
				b.WriteString("null")
			} else {
				b.WriteString(c.b.String())
			}
			return nil
		}
		return e.anyMap(x)
	default:
		if e.lenient {
			if plain, ok := plainValue(v); ok {
				return e.encode(plain)
			}
			b.WriteString("null")
			return nil
		}
		return fmt.Errorf("Object of type %T is not JSON serializable", v)
	}
	return nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// plainValue is v as encoding/json would decode its encoding into an any.
func plainValue(v any) (any, bool) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var plain any
	if dec.Decode(&plain) != nil {
		return nil, false
	}
	return plain, true
}

func (e *encoder) list(n int, at func(int) any) error {
	e.b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			e.b.WriteString(", ")
		}
		if err := e.encode(at(i)); err != nil {
			return err
		}
	}
	e.b.WriteByte(']')
	return nil
}

// anyMap handles maps whose keys are not all strings (YAML allows 1: x).
// Python sorts the (key, value) items, so keys must be mutually comparable:
// all strings, or all numbers (bool counts as int); a lone None key is fine
// because sorting one item compares nothing.
func (e *encoder) anyMap(m map[any]any) error {
	type item struct {
		key   any
		str   string // the key as JSON renders it (before quoting)
		num   *big.Float
		isStr bool
	}
	items := make([]item, 0, len(m))
	strs, nums := 0, 0
	for k := range m {
		it := item{key: k}
		switch x := k.(type) {
		case string:
			it.str, it.isStr = x, true
			strs++
		case nil:
			it.str = "null"
		case bool:
			it.str = strconv.FormatBool(x)
			n := int64(0)
			if x {
				n = 1
			}
			it.num = new(big.Float).SetInt64(n)
			nums++
		case float64, float32:
			f := reflect.ValueOf(x).Float()
			it.str = floatJSON(f)
			if !math.IsNaN(f) {
				it.num = new(big.Float).SetFloat64(f)
			}
			nums++
		default:
			n, ok := toBigInt(k)
			if !ok {
				return fmt.Errorf("keys must be str, int, float, bool or None, not %T", k)
			}
			it.str = n.String()
			it.num = new(big.Float).SetPrec(0).SetInt(n)
			nums++
		}
		items = append(items, it)
	}
	if len(items) > 1 {
		if strs != len(items) && nums != len(items) {
			return fmt.Errorf("'<' not supported between keys of different types in a mapping")
		}
		var err error
		sort.Slice(items, func(i, j int) bool {
			if items[i].isStr {
				return items[i].str < items[j].str
			}
			if items[i].num == nil || items[j].num == nil {
				err = fmt.Errorf("cannot sort NaN keys reliably")
				return false
			}
			return items[i].num.Cmp(items[j].num) < 0
		})
		if err != nil {
			return err
		}
	}
	e.b.WriteByte('{')
	for i, it := range items {
		if i > 0 {
			e.b.WriteString(", ")
		}
		if err := e.str(it.str); err != nil {
			return err
		}
		e.b.WriteString(": ")
		if err := e.encode(m[it.key]); err != nil {
			return err
		}
	}
	e.b.WriteByte('}')
	return nil
}

func toBigInt(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case int, int8, int16, int32, int64:
		return big.NewInt(reflect.ValueOf(x).Int()), true
	case uint, uint8, uint16, uint32, uint64, uintptr:
		return new(big.Int).SetUint64(reflect.ValueOf(x).Uint()), true
	case *big.Int:
		if x != nil {
			return x, true
		}
	}
	return nil, false
}

// str writes s as json.dumps does with ensure_ascii=True.
func (e *encoder) str(s string) error {
	if !e.lenient && !utf8.ValidString(s) {
		return fmt.Errorf("string %q is not valid UTF-8", s)
	}
	b := &e.b
	const hex = "0123456789abcdef"
	u4 := func(r rune) {
		b.WriteString(`\u`)
		b.WriteByte(hex[r>>12&15])
		b.WriteByte(hex[r>>8&15])
		b.WriteByte(hex[r>>4&15])
		b.WriteByte(hex[r&15])
	}
	b.WriteByte('"')
	for _, r := range s { // a bad byte reads as U+FFFD
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			u4(0xd800 | (r>>10)&0x3ff)
			u4(0xdc00 | r&0x3ff)
		default:
			u4(r)
		}
	}
	b.WriteByte('"')
	return nil
}

// floatJSON renders a float as json.dumps does: repr() for finite values.
func floatJSON(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return FloatRepr(f)
}

// FloatRepr is Python's repr() (and str()) of a finite float: the shortest
// digits that round-trip, in fixed notation when the decimal exponent is in
// [-4, 16), otherwise as d.ddde±XX; a fixed-notation integer value keeps
// ".0".
func FloatRepr(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // -d.dddde±XX
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	ei := strings.IndexByte(e, 'e')
	digits := strings.Replace(e[:ei], ".", "", 1)
	exp, _ := strconv.Atoi(e[ei+1:])
	decpt := exp + 1
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			return sign + "0." + strings.Repeat("0", -decpt) + digits
		case decpt >= len(digits):
			return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		default:
			return sign + digits[:decpt] + "." + digits[decpt:]
		}
	}
	m := digits[:1]
	if len(digits) > 1 {
		m += "." + digits[1:]
	}
	es := "+"
	if exp < 0 {
		es, exp = "-", -exp
	}
	return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
}

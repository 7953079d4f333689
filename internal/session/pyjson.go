package session

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PythonJSON encodes v exactly as Python's json.dumps(v, sort_keys=True) does
// with its other defaults: separators ", " and ": ", ensure_ascii (every
// character outside printable ASCII as \uXXXX, surrogate pairs above the BMP),
// floats as repr() (NaN, Infinity and -Infinity allowed), keys sorted the way
// Python sorts them. It accepts what a YAML decoder produces: nil, bool,
// integers of any size, floats, strings, slices, and maps with string or
// scalar keys. Anything else (a timestamp, say) is an error, as in Python.
func PythonJSON(v any) ([]byte, error) {
	var b strings.Builder
	if err := encodePy(&b, v); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

func encodePy(b *strings.Builder, v any) error {
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
		return writePyString(b, x)
	case float64:
		b.WriteString(pyFloatJSON(x))
	case float32:
		b.WriteString(pyFloatJSON(float64(x)))
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
	case []any:
		return encodeList(b, len(x), func(i int) any { return x[i] })
	case []string:
		return encodeList(b, len(x), func(i int) any { return x[i] })
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
			if err := writePyString(b, k); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := encodePy(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return encodePy(b, m)
	case map[any]any:
		return encodeAnyMap(b, x)
	default:
		return fmt.Errorf("Object of type %T is not JSON serializable", v)
	}
	return nil
}

func encodeList(b *strings.Builder, n int, at func(int) any) error {
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := encodePy(b, at(i)); err != nil {
			return err
		}
	}
	b.WriteByte(']')
	return nil
}

// encodeAnyMap handles maps whose keys are not all strings (YAML allows 1: x).
// Python sorts the (key, value) items, so keys must be mutually comparable:
// all strings, or all numbers (bool counts as int); a lone None key is fine
// because sorting one item compares nothing.
func encodeAnyMap(b *strings.Builder, m map[any]any) error {
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
			it.str = pyFloatJSON(f)
			if !math.IsNaN(f) {
				it.num = new(big.Float).SetFloat64(f)
			} else {
				it.num = nil
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
	b.WriteByte('{')
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := writePyString(b, it.str); err != nil {
			return err
		}
		b.WriteString(": ")
		if err := encodePy(b, m[it.key]); err != nil {
			return err
		}
	}
	b.WriteByte('}')
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

// writePyString writes s as json.dumps does with ensure_ascii=True.
func writePyString(b *strings.Builder, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("string %q is not valid UTF-8", s)
	}
	const hex = "0123456789abcdef"
	u4 := func(r rune) {
		b.WriteString(`\u`)
		b.WriteByte(hex[r>>12&15])
		b.WriteByte(hex[r>>8&15])
		b.WriteByte(hex[r>>4&15])
		b.WriteByte(hex[r&15])
	}
	b.WriteByte('"')
	for _, r := range s {
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

// pyFloatJSON renders a float as json.dumps does: repr() for finite values.
func pyFloatJSON(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return PyFloatRepr(f)
}

// PyFloatRepr is Python's repr() of a finite float: the shortest digits that
// round-trip, in fixed notation when the decimal exponent is in [-4, 16),
// otherwise as d.ddde±XX; a fixed-notation integer value keeps ".0".
func PyFloatRepr(f float64) string {
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

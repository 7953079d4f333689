package pyjson

// Values that cross between Go and Python (flow inputs, tool outputs, line
// records, metrics) are JSON as Python's json module writes it, which has
// three spellings strict JSON lacks: NaN, Infinity and -Infinity. In Go such a
// value is a NonFinite; every finite number is a json.Number keeping its text,
// so 2**63, 1.0 (a float, not 1) and 1e400 (Python reads inf) survive
// untouched. Marshal and Unmarshal are encoding/json with those three
// spellings added; encoding/json alone cannot write or read them.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// NonFinite is a float JSON has no number for: NaN, +Inf or -Inf.
type NonFinite float64

// Python-JSON spellings of the non-finite floats.
const (
	litNaN    = "NaN"
	litInf    = "Infinity"
	litNegInf = "-Infinity"
)

// String is the value as Python's json writes it.
func (f NonFinite) String() string {
	switch {
	case math.IsInf(float64(f), 1):
		return litInf
	case math.IsInf(float64(f), -1):
		return litNegInf
	}
	return litNaN
}

// sentinel stands for a NonFinite inside encoding/json's output and input;
// the random part makes it impossible for a real string to be taken for one.
var sentinel = func() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "\x00pyjson-nonfinite-" + hex.EncodeToString(b) + ":"
}()

// sentinelJSON is how encoding/json writes the sentinel prefix inside a string.
var sentinelJSON = `\u0000` + sentinel[1:]

// MarshalJSON writes a marked string that Marshal turns into the bare
// literal; encoding/json on its own cannot write NaN. Use Marshal.
func (f NonFinite) MarshalJSON() ([]byte, error) {
	return []byte(`"` + sentinelJSON + f.String() + `"`), nil
}

// Float is f as a value: a json.Number with Python's repr of it, or a
// NonFinite.
func Float(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return NonFinite(f)
	}
	return json.Number(FloatRepr(f))
}

// Plain turns Go floats inside v (from YAML, say) into Float values so the
// whole tree is made of the kinds Marshal and the executor handle. Maps and
// slices are copied only when something changes.
func Plain(v any) any {
	switch x := v.(type) {
	case float64:
		return Float(x)
	case float32:
		return Float(float64(x))
	case int:
		return json.Number(strconv.Itoa(x))
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Plain(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Plain(e)
		}
		return out
	case Object:
		out := make(Object, len(x))
		for i, m := range x {
			out[i] = Member{Key: m.Key, Value: Plain(m.Value)}
		}
		return out
	}
	return v
}

// Marshal is json.Marshal (HTML left unescaped, no trailing newline) that
// writes NonFinite values as Python does: NaN, Infinity, -Infinity.
func Marshal(v any) ([]byte, error) {
	return marshal(v, "")
}

// MarshalIndent is Marshal with json.MarshalIndent's layout.
func MarshalIndent(v any, indent string) ([]byte, error) {
	return marshal(v, indent)
}

func marshal(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if !bytes.Contains(b, []byte(sentinelJSON)) {
		return b, nil
	}
	for _, lit := range []string{litNaN, litInf, litNegInf} {
		b = bytes.ReplaceAll(b, []byte(`"`+sentinelJSON+lit+`"`), []byte(lit))
	}
	return b, nil
}

// Unmarshal decodes Python's JSON into v as encoding/json would with
// UseNumber, reading NaN, Infinity and -Infinity as NonFinite values (where
// v has room for any value: an interface, a map or slice of them).
func Unmarshal(data []byte, v any) error {
	marked, n := markNonFinite(data)
	dec := json.NewDecoder(bytes.NewReader(marked))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if rest := bytes.TrimLeft(marked[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return errors.New("invalid JSON: extra data after the value")
	}
	if n > 0 {
		restore(reflect.ValueOf(v))
	}
	return nil
}

// Standard is data with NaN, Infinity and -Infinity replaced by strings:
// valid strict JSON of the same shape, for readers that look only at its
// structure (which keys an object has), never at those values.
func Standard(data []byte) []byte {
	b, _ := markNonFinite(data)
	return b
}

// markNonFinite replaces the bare literals NaN, Infinity and -Infinity
// (outside strings) by sentinel strings encoding/json accepts.
func markNonFinite(data []byte) ([]byte, int) {
	if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) {
		return data, 0
	}
	var out []byte
	n, last := 0, 0
	inStr := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		if c == '"' {
			inStr = true
			continue
		}
		for _, lit := range []string{litNaN, litInf, litNegInf} {
			if bytes.HasPrefix(data[i:], []byte(lit)) {
				out = append(out, data[last:i]...)
				out = append(out, '"')
				out = append(out, sentinelJSON...)
				out = append(out, lit...)
				out = append(out, '"')
				i += len(lit) - 1
				last = i + 1
				n++
				break
			}
		}
	}
	if n == 0 {
		return data, 0
	}
	return append(out, data[last:]...), n
}

func nonFiniteOf(s string) (NonFinite, bool) {
	lit, ok := strings.CutPrefix(s, sentinel)
	if !ok {
		return 0, false
	}
	switch lit {
	case litNaN:
		return NonFinite(math.NaN()), true
	case litInf:
		return NonFinite(math.Inf(1)), true
	case litNegInf:
		return NonFinite(math.Inf(-1)), true
	}
	return 0, false
}

// restore turns the sentinel strings Unmarshal decoded back into NonFinite
// values wherever an interface holds one.
func restore(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			restore(v.Elem())
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if e.Kind() == reflect.String {
			if nf, ok := nonFiniteOf(e.String()); ok && v.CanSet() {
				v.Set(reflect.ValueOf(nf))
			}
			return
		}
		restore(e)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				restore(v.Field(i))
			}
		}
	case reflect.Map:
		if v.Type().Elem().Kind() != reflect.Interface {
			if k := v.Type().Elem().Kind(); k != reflect.Map && k != reflect.Slice && k != reflect.Pointer && k != reflect.Struct {
				return
			}
		}
		iter := v.MapRange()
		for iter.Next() {
			e := iter.Value()
			if e.Kind() == reflect.Interface && !e.IsNil() && e.Elem().Kind() == reflect.String {
				if nf, ok := nonFiniteOf(e.Elem().String()); ok {
					v.SetMapIndex(iter.Key(), reflect.ValueOf(nf))
				}
				continue
			}
			if e.Kind() == reflect.Interface && !e.IsNil() {
				e = e.Elem()
			}
			restore(e)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			restore(v.Index(i))
		}
	}
}

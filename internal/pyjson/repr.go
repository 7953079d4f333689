package pyjson

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Str is Python's str(v) for the values flows carry (those Decode makes, Go
// numbers and maps from YAML): a string as it is, anything else as Repr.
func Str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return Repr(v)
}

// Repr is Python's repr(v): None, True, 1.0, inf, 'text' quoted as Python
// quotes it, (1,) for a tuple, dicts in their keys' order (an Object's
// insertion order; a Go map has none, so its keys come sorted).
func Repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case string:
		writeStrRepr(b, x)
	case json.Number:
		if isIntText(x) {
			if n, ok := new(big.Int).SetString(string(x), 10); ok {
				b.WriteString(n.String())
				return
			}
			b.WriteString(string(x))
			return
		}
		f, _ := strconv.ParseFloat(string(x), 64) // ±Inf on overflow, as Python reads 1e400
		writeFloatRepr(b, f)
	case NonFinite:
		writeFloatRepr(b, float64(x))
	case float64:
		writeFloatRepr(b, x)
	case float32:
		writeFloatRepr(b, float64(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case *big.Int:
		b.WriteString(x.String())
	case []any:
		b.WriteByte('[')
		writeItems(b, x)
		b.WriteByte(']')
	case Tuple:
		b.WriteByte('(')
		writeItems(b, x)
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case *Generator:
		b.WriteString(x.Repr)
	case Object:
		b.WriteByte('{')
		for i, m := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if m.NotStr {
				b.WriteString(notStrKeyRepr(m.Key))
			} else {
				writeStrRepr(b, m.Key)
			}
			b.WriteString(": ")
			writeRepr(b, m.Value)
		}
		b.WriteByte('}')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeStrRepr(b, k)
			b.WriteString(": ")
			writeRepr(b, x[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, x)
	}
}

func writeItems(b *strings.Builder, items []any) {
	for i, e := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		writeRepr(b, e)
	}
}

func writeFloatRepr(b *strings.Builder, f float64) {
	switch {
	case math.IsNaN(f):
		b.WriteString("nan")
	case math.IsInf(f, 1):
		b.WriteString("inf")
	case math.IsInf(f, -1):
		b.WriteString("-inf")
	default:
		b.WriteString(FloatRepr(f))
	}
}

// writeStrRepr quotes s as Python's repr does: single quotes unless s has a
// single quote and no double one; \t \n \r and \\ escaped; other characters
// Python does not print as \xNN, \uNNNN or \UNNNNNNNN.
func writeStrRepr(b *strings.Builder, s string) {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		case r < 0x7f || unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			fmt.Fprintf(b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
}

// isIntText reports whether a json.Number is an integer literal (Python's
// json reads it as int) rather than a float one.
func isIntText(n json.Number) bool { return !strings.ContainsAny(string(n), ".eE") }

// TypeName is the Python type name of a value, for messages.
func TypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case string:
		return "str"
	case json.Number:
		if isIntText(x) {
			return "int"
		}
		return "float"
	case NonFinite, float64, float32:
		return "float"
	case int, int64, uint64, *big.Int:
		return "int"
	case []any:
		return "list"
	case Tuple:
		return "tuple"
	case *Generator:
		return "generator"
	case map[string]any, Object:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// Setting is the text promptflow makes of a setting's value (a flow's
// environment_variables, pfazure's inputs_mapping): str() of a scalar,
// json.dumps of a dict or list (keys sorted, as Dumps writes them).
func Setting(v any) string {
	switch v.(type) {
	case map[string]any, map[any]any, []any, Object, Tuple:
		return Text(v)
	}
	return Str(v)
}

// notStrKeyRepr is Python's repr of a dict key that was not a str, from its
// json.dumps text (Member.NotStr): an int's and a float's text is their repr.
func notStrKeyRepr(k string) string {
	switch k {
	case "true":
		return "True"
	case "false":
		return "False"
	case "null":
		return "None"
	case "Infinity":
		return "inf"
	case "-Infinity":
		return "-inf"
	case "NaN":
		return "nan"
	}
	return k
}

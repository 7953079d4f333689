package executor

// Flow inputs are converted to their declared types as promptflow converts
// them: with Python's int(), float() and str() (ValueType.parse). Values here
// are what a data line holds: nil, bool, string, json.Number (its text kept,
// so 2**63 and 1.0 survive), pyjson.NonFinite, []any and map[string]any.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// errJSONInput is a list input whose text is not JSON; promptflow words this
// error apart from a plain type mismatch.
type errJSONInput struct{ err error }

func (e *errJSONInput) Error() string { return e.err.Error() }

func convertInput(v any, t flow.ValueType) (any, error) {
	v = pyjson.Plain(v)
	switch t {
	case "int":
		return pyInt(v)
	case "double":
		return pyFloat(v)
	case "string":
		return pyStr(v), nil
	case "bool":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(x) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, fmt.Errorf("Invalid boolean value %s", pyRepr(v))
	case "list":
		if s, ok := v.(string); ok {
			d, err := pyjson.Decode([]byte(s))
			if err != nil {
				return nil, &errJSONInput{err}
			}
			v = d
		}
		if _, ok := v.([]any); !ok {
			return nil, fmt.Errorf("Invalid list value %s", pyRepr(v))
		}
		return v, nil
	case "object":
		// Text that is JSON is decoded; anything else is kept as it is.
		if s, ok := v.(string); ok {
			if d, err := pyjson.Decode([]byte(s)); err == nil {
				return d, nil
			}
		}
		return v, nil
	}
	return v, nil
}

// isIntText reports whether a json.Number is an integer literal (Python's
// json reads it as int) rather than a float one.
func isIntText(n json.Number) bool { return !strings.ContainsAny(string(n), ".eE") }

// numFloat is the float a json.Number's float literal reads as in Python
// (1e400 is inf).
func numFloat(n json.Number) float64 {
	f, _ := strconv.ParseFloat(string(n), 64) // ±Inf on overflow, as Python
	return f
}

func bigInt(n json.Number) (*big.Int, bool) { return new(big.Int).SetString(string(n), 10) }

// pyInt is Python's int(v).
func pyInt(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		if x {
			return json.Number("1"), nil
		}
		return json.Number("0"), nil
	case json.Number:
		if isIntText(x) {
			if b, ok := bigInt(x); ok {
				return json.Number(b.String()), nil
			}
			return nil, fmt.Errorf("invalid number %s", x)
		}
		return floatToInt(numFloat(x))
	case pyjson.NonFinite:
		return floatToInt(float64(x))
	case string:
		b, ok := parsePyInt(x)
		if !ok {
			return nil, fmt.Errorf("invalid literal for int() with base 10: %s", pyRepr(x))
		}
		return json.Number(b.String()), nil
	}
	return nil, fmt.Errorf("int() argument must be a string, a bytes-like object or a real number, not '%s'", pyTypeName(v))
}

func floatToInt(f float64) (any, error) {
	if math.IsNaN(f) {
		return nil, errors.New("cannot convert float NaN to integer")
	}
	if math.IsInf(f, 0) {
		return nil, errors.New("cannot convert float infinity to integer")
	}
	b, _ := big.NewFloat(math.Trunc(f)).Int(nil)
	return json.Number(b.String()), nil
}

// pyDigits is Python's decimal literal: digits, single underscores between them.
var pyDigits = `[0-9](?:_?[0-9])*`

var (
	pyIntRe   = regexp.MustCompile(`^[+-]?` + pyDigits + `$`)
	pyFloatRe = regexp.MustCompile(`^[+-]?(?:` + pyDigits + `(?:\.(?:` + pyDigits + `)?)?|\.` + pyDigits + `)(?:[eE][+-]?` + pyDigits + `)?$`)
)

// parsePyInt is int(s) for a str: surrounding whitespace, a sign, leading
// zeros and underscores between digits are allowed.
func parsePyInt(s string) (*big.Int, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if !pyIntRe.MatchString(s) {
		return nil, false
	}
	return new(big.Int).SetString(strings.ReplaceAll(strings.TrimPrefix(s, "+"), "_", ""), 10)
}

// pyFloat is Python's float(v).
func pyFloat(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		if x {
			return pyjson.Float(1), nil
		}
		return pyjson.Float(0), nil
	case json.Number:
		if isIntText(x) {
			b, ok := bigInt(x)
			if !ok {
				return nil, fmt.Errorf("invalid number %s", x)
			}
			f, _ := new(big.Float).SetInt(b).Float64()
			if math.IsInf(f, 0) {
				return nil, errors.New("int too large to convert to float")
			}
			return pyjson.Float(f), nil
		}
		return pyjson.Float(numFloat(x)), nil
	case pyjson.NonFinite:
		return x, nil
	case string:
		f, ok := parsePyFloat(x)
		if !ok {
			return nil, fmt.Errorf("could not convert string to float: %s", pyRepr(x))
		}
		return pyjson.Float(f), nil
	}
	return nil, fmt.Errorf("float() argument must be a string or a real number, not '%s'", pyTypeName(v))
}

// parsePyFloat is float(s) for a str: nan, inf and infinity in any case,
// decimal literals with underscores between digits, 1e400 as inf.
func parsePyFloat(s string) (float64, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return 0, false
	}
	neg := strings.HasPrefix(s, "-")
	switch strings.ToLower(body) {
	case "nan":
		return math.NaN(), true
	case "inf", "infinity":
		if neg {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	if !pyFloatRe.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

// pyStr is Python's str(v).
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// pyRepr is Python's repr(v). A dict's keys come sorted: the order the data
// had is not kept once it is decoded.
func pyRepr(v any) string {
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
			if n, ok := bigInt(x); ok {
				b.WriteString(n.String())
				return
			}
			b.WriteString(string(x))
			return
		}
		writeFloatRepr(b, numFloat(x))
	case pyjson.NonFinite:
		writeFloatRepr(b, float64(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		b.WriteByte(']')
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

func writeFloatRepr(b *strings.Builder, f float64) {
	switch {
	case math.IsNaN(f):
		b.WriteString("nan")
	case math.IsInf(f, 1):
		b.WriteString("inf")
	case math.IsInf(f, -1):
		b.WriteString("-inf")
	default:
		b.WriteString(pyjson.FloatRepr(f))
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

// pyTypeName is the Python type name of a line value, for error messages.
func pyTypeName(v any) string {
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
	case pyjson.NonFinite:
		return "float"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

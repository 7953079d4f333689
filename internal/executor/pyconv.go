package executor

// Flow inputs are converted to their declared types as promptflow converts
// them: with Python's int(), float() and str() (ValueType.parse). Values here
// are what a data line holds: nil, bool, string, json.Number (its text kept,
// so 2**63 and 1.0 survive), pyjson.NonFinite, []any and pyjson.Object (a
// dict in its keys' order).

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
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
		return pyjson.Str(v), nil
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
		return nil, fmt.Errorf("Invalid boolean value %s", pyjson.Repr(v)) //nolint:staticcheck // promptflow's wording
	case "list":
		if s, ok := v.(string); ok {
			d, err := pyjson.Decode([]byte(s))
			if err != nil {
				return nil, &errJSONInput{err}
			}
			v = d
		}
		if _, ok := v.([]any); !ok {
			return nil, fmt.Errorf("Invalid list value %s", pyjson.Repr(v)) //nolint:staticcheck // promptflow's wording
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
func isIntText(n json.Number) bool { return pyjson.TypeName(n) == "int" }

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
			return nil, fmt.Errorf("invalid literal for int() with base 10: %s", pyjson.Repr(x))
		}
		return json.Number(b.String()), nil
	}
	return nil, fmt.Errorf("int() argument must be a string, a bytes-like object or a real number, not '%s'", pyjson.TypeName(v))
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
			return nil, fmt.Errorf("could not convert string to float: %s", pyjson.Repr(x))
		}
		return pyjson.Float(f), nil
	}
	return nil, fmt.Errorf("float() argument must be a string or a real number, not '%s'", pyjson.TypeName(v))
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

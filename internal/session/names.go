package session

import (
	"crypto/rand"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultVariant is the variant id a run name gets when no variant is chosen.
const DefaultVariant = "variant_0"

// SanitizeName is promptflow's _sanitize_python_variable_name: lower-case,
// every character that is not a Unicode word character (or is "_") becomes a
// space, runs of spaces collapse, the ends are trimmed, "n" is prefixed when
// the result starts with a decimal digit, and spaces become "_". Lower-casing
// follows Python's str.lower (İ becomes "i̇", Σ at the end of a word becomes
// ς); word characters are Python's \w (letters and numbers of any script). The
// result can be empty ("---"). Go's Unicode tables may be a version ahead of
// the Python that pfazure runs on, which matters only for characters added in
// between.
func SanitizeName(s string) string {
	lower := pyLower(s)
	var b strings.Builder
	space := false
	for _, r := range lower {
		if r != '_' && (unicode.IsLetter(r) || unicode.IsNumber(r)) {
			if space && b.Len() > 0 {
				b.WriteByte('_')
			}
			space = false
			b.WriteRune(r)
			continue
		}
		space = true
	}
	out := b.String()
	if r, _ := utf8.DecodeRuneInString(out); out != "" && unicode.IsDigit(r) {
		out = "n" + out
	}
	return out
}

// pyLower is Python's str.lower: full lower-case mapping (only U+0130 maps to
// two characters unconditionally) with the Final_Sigma rule for U+03A3.
func pyLower(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		switch r {
		case 0x130:
			b.WriteString("i\u0307")
		case 0x3a3:
			if finalSigma(rs, i) {
				b.WriteRune(0x3c2)
			} else {
				b.WriteRune(0x3c3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma: a cased letter, then case-ignorables, then Σ, and no cased
// letter after it (skipping case-ignorables).
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && caseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !cased(rs[j])
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// caseIgnorable: Mn, Me, Cf, Lm, Sk, or Word_Break MidLetter, MidNumLet or
// Single_Quote.
func caseIgnorable(r rune) bool {
	if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) {
		return true
	}
	switch r {
	case '\'', '.', ':', 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a:
		return true
	}
	return false
}

var variantRE = regexp.MustCompile(`^\$\{([^.]+).([^}]+)\}`)

// ParseVariant splits "${node.variant_id}" (optionally quoted) into the node
// name and the variant id, as promptflow's parse_variant does.
func ParseVariant(v string) (node, variant string, err error) {
	s := v
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	} else if s == `"` || s == "'" {
		s = ""
	}
	m := variantRE.FindStringSubmatch(s)
	if m == nil {
		return "", "", fmt.Errorf("Invalid variant format: %s, variant should be in format of ${TUNING_NODE.VARIANT}", v) //nolint:staticcheck // promptflow's message, word for word
	}
	return m[1], m[2], nil
}

// DefaultRunName is the run name pfazure generates for a DAG flow:
// sanitize("{flow folder name}_{variant id or variant_0}_{YYYYmmdd_HHMMSS_ffffff}")
// with now in the caller's local time. flowDir may be the folder or a file in
// it. A variant that does not parse gives a random UUID, as in pfazure.
func DefaultRunName(flowDir, variant string, now time.Time) string {
	v := DefaultVariant
	if variant != "" {
		_, id, err := ParseVariant(variant)
		if err != nil {
			return newUUID4()
		}
		v = id
	}
	return SanitizeName(flowFolderName(flowDir) + "_" + v + "_" + pyTimestamp(now))
}

// DefaultFlexRunName is the run name pfazure generates for a flex or prompty
// flow, which has no variants: sanitize("{flow folder name}_{timestamp}").
func DefaultFlexRunName(flowDir string, now time.Time) string {
	return SanitizeName(flowFolderName(flowDir) + "_" + pyTimestamp(now))
}

// ExperimentName is runExperimentName: the flow folder name sanitized.
func ExperimentName(flowDir string) string {
	return SanitizeName(flowFolderName(flowDir))
}

func flowFolderName(flowDir string) string {
	dir, err := resolveFlowDir(flowDir)
	if err != nil {
		dir = filepath.Clean(flowDir)
	}
	return filepath.Base(dir)
}

// pyTimestamp is strftime("%Y%m%d_%H%M%S_%f").
func pyTimestamp(t time.Time) string {
	return fmt.Sprintf("%04d%02d%02d_%02d%02d%02d_%06d",
		t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000)
}

func newUUID4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

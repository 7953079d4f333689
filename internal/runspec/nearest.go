package runspec

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/pfz-cli/pfz/internal/suggest"
)

// nearest returns the candidates closest to s by edit distance (case-folded),
// best first, at most `most` of them, and only those close enough to be a likely
// typo: within a third of the longer length, or sharing a prefix or substring.
// The limit grows with each candidate's length, which suggest.Nearest's single
// limit cannot say, so the choosing stays here and only the measure is shared.
func nearest(s string, candidates []string, most int) []string {
	type scored struct {
		c string
		d int
	}
	ls := strings.ToLower(s)
	var out []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := distance(ls, lc)
		limit := (max(len(ls), len(lc)) + 2) / 3
		if d <= limit || (len(ls) >= 3 && (strings.Contains(lc, ls) || strings.Contains(ls, lc))) {
			out = append(out, scored{c, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].d != out[j].d {
			return out[i].d < out[j].d
		}
		return out[i].c < out[j].c
	})
	res := make([]string, 0, most)
	for _, o := range out {
		if len(res) == most {
			break
		}
		res = append(res, o.c)
	}
	return res
}

// didYouMean renders a hint naming the nearest candidate, or lists them all
// when none is close.
func didYouMean(s string, candidates []string) string {
	if n := nearest(s, candidates, 1); len(n) > 0 {
		return "did you mean " + n[0] + "?"
	}
	return "known keys: " + strings.Join(candidates, ", ")
}

// distance is suggest.Distance, except that long strings are never typos of
// a key: they are as far as their length, to avoid quadratic work on fuzz
// input (column names and values come from user files).
func distance(a, b string) int {
	na, nb := utf8.RuneCountInString(a), utf8.RuneCountInString(b)
	if na > 256 || nb > 256 {
		if a == b {
			return 0
		}
		return max(na, nb)
	}
	return suggest.Distance(a, b)
}

// Package suggest owns pfz's "did you mean …?" guesses: the edit distance
// between two words and the rules that pick, from the names pfz knows, the
// ones a mistyped name most likely meant.
package suggest

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Distance is the Levenshtein distance between a and b: the fewest
// one-rune insertions, deletions and substitutions that turn a into b.
// It counts runes, not bytes, so a mistyped "é" is one edit, and it is
// case-sensitive; Nearest and Closest fold case themselves.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Nearest returns at most n candidates within maxDist edits of word, closest
// first; candidates equally close keep their order in candidates. Case is
// folded before measuring (COMPUTE is compute mistyped in the shift key, not
// seven edits away), and the candidates come back as written. A negative
// maxDist means no limit: the n closest, however far.
func Nearest(word string, candidates []string, n int, maxDist int) []string {
	if n <= 0 {
		return nil
	}
	type scored struct {
		c string
		d int
	}
	lw := strings.ToLower(word)
	nw := utf8.RuneCountInString(lw)
	var out []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		// The distance is at least the difference in length: skip the
		// quadratic work for a word that cannot be close (a long value
		// typed where a key belongs).
		if maxDist >= 0 && abs(nw-utf8.RuneCountInString(lc)) > maxDist {
			continue
		}
		if d := Distance(lw, lc); maxDist < 0 || d <= maxDist {
			out = append(out, scored{c, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].d < out[j].d })
	res := make([]string, 0, min(n, len(out)))
	for _, o := range out[:min(n, len(out))] {
		res = append(res, o.c)
	}
	return res
}

// Closest returns the candidate word most likely is a typo of, and false
// when none is likely enough to name. Case is folded. The rule, in order:
//
//   - a word of three or more letters that starts a candidate names it
//     (str → string, auth → auth.mode), the first such in candidates;
//   - so does one that contains a candidate of four or more letters, or is
//     contained in one (my_nodes_2 → nodes);
//   - a word of one or two letters names only a candidate equal to it: one
//     or two letters are one edit from too many words (d → id is noise);
//   - otherwise the nearest candidate within a third of the word's length
//     in edits, at least one (taget → target; foo → nothing), the first of
//     those equally near.
func Closest(word string, candidates []string) (string, bool) {
	lw := strings.ToLower(word)
	n := utf8.RuneCountInString(lw)
	if n >= 3 {
		for _, c := range candidates {
			if strings.HasPrefix(strings.ToLower(c), lw) {
				return c, true
			}
		}
		for _, c := range candidates {
			lc := strings.ToLower(c)
			if utf8.RuneCountInString(lc) >= 4 && (strings.Contains(lw, lc) || strings.Contains(lc, lw)) {
				return c, true
			}
		}
	}
	limit := max(n/3, 1)
	if n <= 2 {
		limit = 0
	}
	if near := Nearest(word, candidates, 1, limit); len(near) == 1 {
		return near[0], true
	}
	return "", false
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

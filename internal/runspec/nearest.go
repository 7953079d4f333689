package runspec

import (
	"sort"
	"strings"
)

// nearest returns the candidates closest to s by edit distance (case-folded),
// best first, at most max of them, and only those close enough to be a likely
// typo: within a third of the longer length, or sharing a prefix or substring.
func nearest(s string, candidates []string, max int) []string {
	type scored struct {
		c string
		d int
	}
	ls := strings.ToLower(s)
	var out []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := editDistance(ls, lc)
		limit := (max2(len(ls), len(lc)) + 2) / 3
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
	res := make([]string, 0, max)
	for _, o := range out {
		if len(res) == max {
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

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 256 || len(rb) > 256 {
		// Long strings are never typos of a key; avoid quadratic work on fuzz input.
		if a == b {
			return 0
		}
		return max2(len(ra), len(rb))
	}
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
			cur[j] = min3(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func max2(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func min3(a, b, c int) int {
	m := a
	if b < m {
		m = b
	}
	if c < m {
		m = c
	}
	return m
}

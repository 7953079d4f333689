package requirements

import (
	"strings"
	"unicode/utf8"
)

// mstr is text assembled from the file (continuation lines joined, comments
// dropped) that remembers, for every byte, where it came from in the file, so
// a finding deep inside a joined line still gets its real line and column.
type mstr struct {
	s   string
	off []int // off[i] is the file offset of s[i]
}

func fromData(data []byte, start, end int) mstr {
	off := make([]int, end-start)
	for i := range off {
		off[i] = start + i
	}
	return mstr{s: string(data[start:end]), off: off}
}

func (m mstr) cat(o mstr) mstr {
	off := make([]int, 0, len(m.off)+len(o.off))
	off = append(append(off, m.off...), o.off...)
	return mstr{s: m.s + o.s, off: off}
}

func (m mstr) slice(i, j int) mstr { return mstr{s: m.s[i:j], off: m.off[i:j]} }

// at returns the file offset of byte i; i == len means just past the end.
func (m mstr) at(i int) int {
	switch {
	case len(m.off) == 0:
		return -1
	case i < len(m.off):
		return m.off[i]
	default:
		return m.off[len(m.off)-1] + 1
	}
}

// trim strips Python whitespace (str.strip()) from both ends.
func (m mstr) trim() mstr {
	i, j := 0, len(m.s)
	for i < j {
		r, n := utf8.DecodeRuneInString(m.s[i:])
		if !isPySpace(r) {
			break
		}
		i += n
	}
	for j > i {
		r, n := utf8.DecodeLastRuneInString(m.s[i:j])
		if !isPySpace(r) {
			break
		}
		j -= n
	}
	return m.slice(i, j)
}

// stripChar removes every leading and trailing c, as Python's str.strip(c).
func (m mstr) stripChar(c byte) mstr {
	i, j := 0, len(m.s)
	for i < j && m.s[i] == c {
		i++
	}
	for j > i && m.s[j-1] == c {
		j--
	}
	return m.slice(i, j)
}

// commentStart finds where pip's COMMENT_RE, (^|\s+)#.*$, would start
// matching, or -1. The match includes the whitespace before the '#'.
func commentStart(s string) int {
	wsStart := -1
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '#':
			if i == 0 {
				return 0
			}
			if wsStart >= 0 {
				return wsStart
			}
			wsStart = -1
		case isPySpace(r):
			if wsStart < 0 {
				wsStart = i
			}
		default:
			wsStart = -1
		}
		i += n
	}
	return -1
}

// isCommentLine is COMMENT_RE.match(line): the first non-space is '#'.
func isCommentLine(s string) bool {
	t := strings.TrimLeftFunc(s, isPySpace)
	return strings.HasPrefix(t, "#")
}

package requirements

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// segment is one line as Python's str.splitlines sees it: content is
// data[start:end], its terminator data[end:next].
type segment struct {
	start, end, next int
}

// lineBreakLen reports the length of the line terminator starting at data[i],
// or 0. It follows str.splitlines: \n, \r, \r\n, \v, \f, \x1c, \x1d, \x1e,
// U+0085, U+2028 and U+2029. pip splits requirement files this way too.
func lineBreakLen(data []byte, i int) int {
	switch c := data[i]; c {
	case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e:
		return 1
	case '\r':
		if i+1 < len(data) && data[i+1] == '\n' {
			return 2
		}
		return 1
	case 0xc2, 0xe2:
		r, n := utf8.DecodeRune(data[i:])
		if r == 0x85 || r == 0x2028 || r == 0x2029 {
			return n
		}
	}
	return 0
}

func splitSegments(data []byte) []segment {
	var segs []segment
	start := 0
	for i := 0; i < len(data); {
		if n := lineBreakLen(data, i); n > 0 {
			segs = append(segs, segment{start, i, i + n})
			i += n
			start = i
			continue
		}
		i++
	}
	if start < len(data) {
		segs = append(segs, segment{start, len(data), len(data)})
	}
	return segs
}

// SplitLines returns the lines of a requirements file exactly as promptflow
// reads them for the session environment: open(path).read().splitlines() with
// UTF-8 decoding (universal newlines included). A byte order mark stays in the
// first line, as Python's "utf-8" codec keeps it. Invalid UTF-8 is an error,
// because Python fails to read such a file and keeps the path string instead.
func SplitLines(data []byte) ([]string, error) {
	if !utf8.Valid(data) {
		off := firstInvalid(data)
		return nil, fmt.Errorf("'utf-8' codec can't decode byte 0x%02x in position %d: invalid utf-8", data[off], off)
	}
	segs := splitSegments(data)
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = string(data[s.start:s.end])
	}
	return out, nil
}

func firstInvalid(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// isPySpace is Python's str.isspace for one rune: Go's unicode.IsSpace plus the
// information separators \x1c-\x1f.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// posIndex turns byte offsets into the line and column an editor shows: lines
// break at \n, \r\n and \r only; columns count runes, both 1-based.
type posIndex struct {
	data  []byte
	lines []int // byte offset where each editor line starts
}

func newPosIndex(data []byte) *posIndex {
	p := &posIndex{data: data, lines: []int{0}}
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\n':
			p.lines = append(p.lines, i+1)
		case '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			p.lines = append(p.lines, i+1)
		}
	}
	return p
}

func (p *posIndex) pos(off int) (line, col int) {
	if off < 0 {
		return 0, 0
	}
	if off > len(p.data) {
		off = len(p.data)
	}
	lo, hi := 0, len(p.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if p.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	start := p.lines[lo]
	return lo + 1, utf8.RuneCount(p.data[start:off]) + 1
}

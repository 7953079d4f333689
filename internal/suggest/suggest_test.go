package suggest

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"target", "target", 0},
		{"taget", "target", 1},
		{"outptu", "output", 2}, // a swap is two edits, not one
		{"kitten", "sitting", 3},
		{"Target", "target", 1}, // case-sensitive
		{"café", "cafe", 1},     // runes, not bytes
		{"日本語", "日本", 1},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestNearest(t *testing.T) {
	sizes := []string{"Standard_D2s_v3", "Standard_D4s_v3", "Standard_E4ds_v4", "Standard_D2as_v4"}
	tests := []struct {
		name   string
		word   string
		cands  []string
		n, max int
		want   []string
	}{
		{"closest first", "standard_d4s_v3", sizes, 2, -1, []string{"Standard_D4s_v3", "Standard_D2s_v3"}},
		{"ties keep candidate order", "ab", []string{"xb", "ax", "abc", "ab"}, 4, 1, []string{"ab", "xb", "ax", "abc"}},
		{"within maxDist only", "--index-ur", []string{"--index-url", "--extra-index-url", "--no-index"}, 3, 3, []string{"--index-url"}},
		{"case folded, returned as written", "COMPUTE", []string{"instance_type", "compute"}, 1, 0, []string{"compute"}},
		{"none close", "zzzz", []string{"alpha", "beta"}, 1, 2, []string{}},
		{"n of zero", "a", []string{"a"}, 0, -1, nil},
		{"no candidates", "a", nil, 3, -1, []string{}},
		{"fewer than n", "a", []string{"b"}, 3, -1, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Nearest(tt.word, tt.cands, tt.n, tt.max)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Nearest(%q, %q, %d, %d) = %q, want %q", tt.word, tt.cands, tt.n, tt.max, got, tt.want)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	flowKeys := []string{"inputs", "outputs", "nodes", "environment", "id"}
	configKeys := []string{"subscription", "resource_group", "workspace_name", "target", "cloud", "auth.mode", "home", "python", "output", "poll_interval"}
	tests := []struct {
		word  string
		cands []string
		want  string
	}{
		{"inputz", flowKeys, "inputs"},
		{"Nodes", flowKeys, "nodes"},
		{"env", flowKeys, "environment"},  // prefix beats distance
		{"my_nodes_2", flowKeys, "nodes"}, // contains a known word
		{"ID", flowKeys, "id"},            // two letters, but equal
		{"d", flowKeys, ""},               // one edit from id: noise
		{"a", flowKeys, ""},
		{"zzzzzz", flowKeys, ""},
		{"subscripton", configKeys, "subscription"},
		{"taget", configKeys, "target"},
		{"workspace", configKeys, "workspace_name"},
		{"OUTPTU", configKeys, "output"},
		{"auth", configKeys, "auth.mode"},
		{"foo", configKeys, ""},
		{"nope", configKeys, ""},
		{"str", []string{"string", "str"}, "string"}, // the first prefix, as before
		{"inptu", []string{"input", "inptus"}, "inptus"},
		{"", flowKeys, ""},
		{"x", nil, ""},
	}
	for _, tt := range tests {
		got, ok := Closest(tt.word, tt.cands)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Closest(%q) = %q, %v, want %q", tt.word, got, ok, tt.want)
		}
	}
}

func FuzzDistance(f *testing.F) {
	f.Add("taget", "target", "targets")
	f.Add("", "abc", "ab")
	f.Add("café", "cafe", "日本")
	f.Add("inputz", "inputs", "nodes")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		if len(a)+len(b)+len(c) > 600 {
			return // the measure is quadratic; long words add nothing here
		}
		la, lb := utf8.RuneCountInString(a), utf8.RuneCountInString(b)
		ab := Distance(a, b)
		if ab != Distance(b, a) {
			t.Fatalf("not symmetric: %q %q", a, b)
		}
		if (ab == 0) != (string([]rune(a)) == string([]rune(b))) {
			t.Fatalf("Distance(%q, %q) = %d", a, b, ab)
		}
		if ab < abs(la-lb) || ab > max(la, lb) {
			t.Fatalf("Distance(%q, %q) = %d, outside [%d, %d]", a, b, ab, abs(la-lb), max(la, lb))
		}
		if ab > Distance(a, c)+Distance(c, b) {
			t.Fatalf("triangle broken by %q between %q and %q", c, a, b)
		}
		cands := []string{b, c}
		if got, ok := Closest(a, cands); (!ok && got != "") || (ok && got != b && got != c) {
			t.Fatalf("Closest(%q, %q) = %q, %v", a, cands, got, ok)
		}
		near := Nearest(a, cands, 2, 2)
		prev := -1
		for _, n := range near {
			d := Distance(strings.ToLower(a), strings.ToLower(n))
			if d > 2 || d < prev {
				t.Fatalf("Nearest(%q, %q) = %q: %q at %d", a, cands, near, n, d)
			}
			prev = d
		}
	})
}

package session

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/pfz-cli/pfz/internal/fault"
)

func TestSanitizeName(t *testing.T) {
	// The Python-computed table is in testdata/vectors.json; these are the
	// cases the surface document names.
	tests := map[string]string{
		"flow-dir-with-dash": "flow_dir_with_dash",
		"web_classification": "web_classification",
		"1st flow":           "n1st_flow",
		"My Flow (copy)":     "my_flow_copy",
	}
	for in, want := range tests {
		if got := SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultRunName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Web-Classification")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "flow.dag.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 5, 13, 8, 15, 49, 123456789, time.FixedZone("x", 3600))
	tests := []struct {
		dir, variant, want string
	}{
		{dir, "", "web_classification_variant_0_20240513_081549_123456"},
		{filepath.Join(dir, "flow.dag.yaml"), "${summarize_text_content.variant_1}", "web_classification_variant_1_20240513_081549_123456"},
		{dir, "'${node.Variant-2}'", "web_classification_variant_2_20240513_081549_123456"},
	}
	for _, tt := range tests {
		if got := DefaultRunName(tt.dir, tt.variant, now); got != tt.want {
			t.Errorf("DefaultRunName(%s, %q) = %q, want %q", tt.dir, tt.variant, got, tt.want)
		}
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if got := DefaultRunName(dir, "not-a-variant", now); !uuid.MatchString(got) {
		t.Errorf("a bad variant gives %q, want a random UUID as pfazure", got)
	}
	if got := DefaultFlexRunName(dir, now); got != "web_classification_20240513_081549_123456" {
		t.Errorf("DefaultFlexRunName = %q", got)
	}
	if got := ExperimentName(filepath.Join(dir, "flow.dag.yaml")); got != "web_classification" {
		t.Errorf("ExperimentName = %q", got)
	}
}

func TestParseVariant(t *testing.T) {
	tests := []struct {
		in, node, variant string
		ok                bool
	}{
		{"${summarize.variant_0}", "summarize", "variant_0", true},
		{`"${a.b}"`, "a", "b", true},
		{"${a.b}trailing", "a", "b", true},
		{"${a-b}", "a", "b", true}, // promptflow's regex has an unescaped "."
		{"${ab}", "", "", false},
		{"a.b", "", "", false},
		{`"`, "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		n, v, err := ParseVariant(tt.in)
		if (err == nil) != tt.ok || n != tt.node || v != tt.variant {
			t.Errorf("ParseVariant(%q) = %q, %q, %v", tt.in, n, v, err)
		}
		if err != nil && !strings.Contains(err.Error(), "${TUNING_NODE.VARIANT}") {
			t.Errorf("error %q lacks pfazure's format hint", err)
		}
	}
}

func TestVMSizes(t *testing.T) {
	sizes := VMSizes()
	if len(sizes) < 60 {
		t.Fatalf("catalog has %d sizes, want at least 60", len(sizes))
	}
	seen := map[string]bool{}
	for i, s := range sizes {
		l := strings.ToLower(s.Name)
		if seen[l] {
			t.Errorf("duplicate %s", s.Name)
		}
		seen[l] = true
		if !strings.HasPrefix(s.Name, "Standard_") || s.VCPUs <= 0 || s.MemoryGB <= 0 {
			t.Errorf("bad entry %+v", s)
		}
		if i > 0 && strings.ToLower(sizes[i-1].Name) > l {
			t.Errorf("not sorted at %s", s.Name)
		}
	}
	// spot checks against Azure's published sizes
	for name, want := range map[string]VMSize{
		"standard_e4ds_v4":    {"Standard_E4ds_v4", 4, 32},
		"STANDARD_D2":         {"Standard_D2", 2, 7},
		"DS11_v2":             {"Standard_DS11_v2", 2, 14},
		"Standard_E64_v3":     {"Standard_E64_v3", 64, 432},
		"standard_f72s_v2":    {"Standard_F72s_v2", 72, 144},
		"NC4as_T4_v3":         {"Standard_NC4as_T4_v3", 4, 28},
		"nc24ads_a100_v4":     {"Standard_NC24ads_A100_v4", 24, 220},
		"Standard_D96ds_v5":   {"Standard_D96ds_v5", 96, 384},
		" Standard_E8s_v5 ":   {"Standard_E8s_v5", 8, 64},
		"Standard_ND96asr_v4": {"Standard_ND96asr_v4", 96, 900},
	} {
		got, err := LookupVMSize(name)
		if err != nil || got != want {
			t.Errorf("LookupVMSize(%q) = %+v, %v; want %+v", name, got, err, want)
		}
	}
	if _, err := LookupVMSize(DefaultVMSize); err != nil {
		t.Errorf("the default size %s is not in the catalog", DefaultVMSize)
	}
}

func TestLookupVMSizeUnknown(t *testing.T) {
	tests := []struct {
		name     string
		wantNear []string
	}{
		{"Standard_E4ds_v9", []string{"Standard_E4ds_v4", "Standard_E4ds_v5"}},
		{"Standard_D2_v7", []string{"Standard_D2_v2", "Standard_D2_v3"}},
		{"e4dsv4", []string{"Standard_E4ds_v4"}},
	}
	for _, tt := range tests {
		_, err := LookupVMSize(tt.name)
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Kind != fault.Validation {
			t.Fatalf("LookupVMSize(%q) = %v, want a validation fault", tt.name, err)
		}
		if !strings.Contains(fe.Msg, tt.name) {
			t.Errorf("message %q does not name %q", fe.Msg, tt.name)
		}
		if n := strings.Count(fe.Hint, "Standard_"); n != 3 {
			t.Errorf("hint %q names %d sizes, want 3", fe.Hint, n)
		}
		for _, w := range tt.wantNear {
			if !strings.Contains(fe.Hint, w) {
				t.Errorf("hint %q for %q lacks %s", fe.Hint, tt.name, w)
			}
		}
	}
	if got := (VMSize{"Standard_E4ds_v4", 4, 32}).String(); got != "Standard_E4ds_v4 (4 vCPUs, 32 GiB)" {
		t.Errorf("String() = %q", got)
	}
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"", "web_classification", "İstanbul ΑΣ", "1 2 3", "__", "a\u0301b", "\xff\xfe", "ΣΣΣ.Σ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := SanitizeName(s)
		if strings.HasPrefix(out, "_") || strings.HasSuffix(out, "_") || strings.Contains(out, "__") {
			t.Fatalf("SanitizeName(%q) = %q has stray underscores", s, out)
		}
		for _, r := range out {
			if r != '_' && !unicode.IsLetter(r) && !unicode.IsNumber(r) {
				t.Fatalf("SanitizeName(%q) = %q contains %q", s, out, r)
			}
		}
		// Sanitizing is idempotent wherever lower-casing is.
		if pyLower(out) == out && SanitizeName(out) != out {
			t.Fatalf("SanitizeName not idempotent: %q -> %q -> %q", s, out, SanitizeName(out))
		}
		_, _, _ = ParseVariant(s)
	})
}

func TestWellFormedVMSize(t *testing.T) {
	for name, want := range map[string]bool{
		"Standard_D2als_v6": true, "Standard_NC40ads_H100_v5": true, "standard_e4ds_v4": true, "Basic_A1": true,
		"Standard_M416-208s_v2": true, "D4s_v3": false, "Standard_": false, "Standard_D4s v3": false, "": false,
		"Standard_../x": false, "Standard_D4\n": false, " Standard_D4": false,
	} {
		if got := WellFormedVMSize(name); got != want {
			t.Errorf("WellFormedVMSize(%q) = %v, want %v", name, got, want)
		}
	}
}

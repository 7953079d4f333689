package snapshot

import (
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/fault"
)

func TestPatchFlowYAML(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		req  string
		drop bool
		want string
	}{
		{
			name: "nothing to do returns the input",
			src:  "a: 1 # c\n",
			want: "a: 1 # c\n",
		},
		{
			name: "add environment at the end, keeping comments",
			src:  "# head\ninputs: # inline\n    x: {type: string}\n\n# tail\n",
			req:  "requirements.txt",
			want: "# head\ninputs: # inline\n    x: {type: string}\n\n# tail\nenvironment:\n    python_requirements_txt: requirements.txt\n",
		},
		{
			name: "no final newline",
			src:  "a: 1",
			req:  "requirements.txt",
			want: "a: 1\nenvironment:\n  python_requirements_txt: requirements.txt\n",
		},
		{
			name: "into an existing environment, at its indentation",
			src:  "environment:\n   image: python:3.11 # base\nnodes: []\n",
			req:  "requirements.txt",
			want: "environment:\n   python_requirements_txt: requirements.txt\n   image: python:3.11 # base\nnodes: []\n",
		},
		{
			name: "an empty environment",
			src:  "environment:\nnodes: []\n",
			req:  "requirements.txt",
			want: "environment:\n  python_requirements_txt: requirements.txt\nnodes: []\n",
		},
		{
			name: "an empty python_requirements_txt is replaced",
			src:  "environment:\n  image: x\n  python_requirements_txt: \"\"\n  other: 1\n",
			req:  "requirements.txt",
			want: "environment:\n  image: x\n  python_requirements_txt: requirements.txt\n  other: 1\n",
		},
		{
			name: "drop includes in the middle, with their comments",
			src:  "inputs: {}\nadditional_includes: # shared code\n  - ../a.py\n  # the helpers\n  - ../lib\n# outputs next\noutputs: {}\n",
			drop: true,
			want: "inputs: {}\n# outputs next\noutputs: {}\n",
		},
		{
			name: "drop includes at the end, flow-style list",
			src:  "inputs: {}\nadditional_includes: [../a.py,\n  ../b.py]\n",
			drop: true,
			want: "inputs: {}\n",
		},
		{
			name: "both edits, CRLF kept",
			src:  "additional_includes:\r\n- ../x\r\ninputs: {}\r\n",
			req:  "requirements.txt",
			drop: true,
			want: "inputs: {}\r\nenvironment:\r\n  python_requirements_txt: requirements.txt\r\n",
		},
		{
			name: "a path that needs quoting",
			src:  "a: 1\n",
			req:  "reqs: dev.txt",
			want: "a: 1\nenvironment:\n  python_requirements_txt: 'reqs: dev.txt'\n",
		},
		{
			name: "flow-style document falls back to re-encoding",
			src:  "{a: 1, additional_includes: [x]}\n",
			req:  "requirements.txt",
			drop: true,
			want: "{a: 1, environment: {python_requirements_txt: requirements.txt}}\n",
		},
		{
			name: "flow-style environment falls back to re-encoding, comments kept",
			src:  "# keep me\nenvironment: {image: x}\n",
			req:  "requirements.txt",
			want: "# keep me\nenvironment: {image: x, python_requirements_txt: requirements.txt}\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PatchFlowYAML([]byte(tc.src), tc.req, tc.drop)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tc.want)
			}
		})
	}
}

func TestPatchFlowYAMLErrors(t *testing.T) {
	for _, src := range []string{"a: [", "- a\n- b\n", ""} {
		if _, err := PatchFlowYAML([]byte(src), "requirements.txt", false); !fault.Is(err, fault.Validation) || fault.HintOf(err) == "" {
			t.Errorf("PatchFlowYAML(%q): want a validation error with a hint, got %v", src, err)
		}
	}
	if _, err := PatchFlowYAML([]byte("environment: python3\n"), "requirements.txt", false); !fault.Is(err, fault.Validation) {
		t.Errorf("a scalar environment: want a validation error, got %v", err)
	}
}

// FuzzPatchFlowYAML checks that any input either fails cleanly or gives YAML
// that has the requested edits and nothing else changed.
func FuzzPatchFlowYAML(f *testing.F) {
	for _, s := range []string{
		"inputs: {}\nadditional_includes:\n- a\n",
		"environment:\n  image: x\n",
		"environment:\n  python_requirements_txt: ''\n",
		"# c\n\nenvironment: ~\n",
		"{environment: {}}",
		"a: |\n  text\n\n",
		"a: |+\n  text\n\n\n",
		"a: 1\n...\n",
		"--- \na: 1\n---\nb: 2\n",
		"a: &x 1\nadditional_includes: *x\n",
	} {
		f.Add(s, "requirements.txt", true)
		f.Add(s, "", true)
		f.Add(s, "r.txt", false)
	}
	f.Fuzz(func(t *testing.T, src, req string, drop bool) {
		out, err := PatchFlowYAML([]byte(src), req, drop)
		if err != nil {
			return
		}
		if req == "" && !drop {
			if string(out) != src {
				t.Fatalf("no-op changed the input")
			}
			return
		}
		var doc map[string]any
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		if drop {
			if _, ok := doc[keyIncludes]; ok {
				t.Fatalf("additional_includes still there:\n%s", out)
			}
		}
		if req != "" {
			// yaml.v3 gives map[any]any when a key is not a string (0:).
			var got any
			switch env := doc[keyEnvironment].(type) {
			case map[string]any:
				got = env[keyRequirements]
			case map[any]any:
				got = env[keyRequirements]
			}
			if got != req {
				t.Fatalf("requirements not set to %q:\n%s", req, out)
			}
		}
		var before map[string]any
		if yaml.Unmarshal([]byte(src), &before) == nil {
			for k, v := range before {
				if k == keyIncludes || k == keyEnvironment {
					continue
				}
				if !equalYAML(v, doc[k]) {
					t.Fatalf("key %q changed:\n%s\n->\n%s", k, src, out)
				}
			}
		}
	})
}

func equalYAML(a, b any) bool {
	x, _ := yaml.Marshal(a)
	y, _ := yaml.Marshal(b)
	return string(x) == string(y)
}

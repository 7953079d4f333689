package cmdutil

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

func TestParseKeyValues(t *testing.T) {
	tests := []struct {
		in      []string
		want    []KV
		wantErr bool
	}{
		{[]string{"a=b"}, []KV{{"a", "b"}}, false},
		{[]string{`url='${data.url}'`}, []KV{{"url", "${data.url}"}}, false},
		{[]string{`"a=b=c"`}, []KV{{"a", "b=c"}}, false},
		{[]string{"a="}, []KV{{"a", ""}}, false},
		{[]string{`a="x'`}, []KV{{"a", `"x'`}}, false},
		{[]string{"novalue"}, nil, true},
		{[]string{"=v"}, nil, true},
	}
	for _, tt := range tests {
		got, err := ParseKeyValues(KVFlag{Name: "--column-mapping", Example: "question='${data.question}'"}, tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err %v", tt.in, err)
			continue
		}
		if err != nil {
			if fault.KindOf(err) != fault.Usage || fault.HintOf(err) == "" {
				t.Errorf("%q: want a usage error with a hint, got %v", tt.in, err)
			}
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q: %s", tt.in, diff)
		}
	}
	m := KeyValueMap([]KV{{"a", "1"}, {"a", "2"}})
	if m["a"] != "2" {
		t.Errorf("last must win: %v", m)
	}
}

// A secret flag's item is never echoed, and the hint shows that flag's form.
func TestParseKeyValuesNeverEchoesASecret(t *testing.T) {
	for _, in := range [][]string{{"sk-REAL-VALUE"}, {"api_key=ok", "=sk-REAL-VALUE"}, {"'sk-REAL-VALUE'"}} {
		_, err := ParseKeyValues(KVFlag{Name: "--secret", Example: "api_key=<your key>", Secret: true}, in)
		text := err.Error() + "\n" + fault.HintOf(err)
		if strings.Contains(text, "REAL-VALUE") {
			t.Errorf("%q: the secret is echoed: %s", in, text)
		}
		if !strings.Contains(text, "--secret api_key=<your key>") || strings.Contains(text, "data.") {
			t.Errorf("%q: the hint does not show --secret's form: %s", in, text)
		}
		if !strings.Contains(text, fmt.Sprintf("item %d", len(in))) {
			t.Errorf("%q: the item is not located: %s", in, text)
		}
	}
}

func TestParseIdentity(t *testing.T) {
	tests := []struct {
		in      string
		want    workspace.Identity
		wantErr bool
	}{
		{"user", workspace.Identity{Type: "user_identity"}, false},
		{"user_identity", workspace.Identity{Type: "user_identity"}, false},
		{"managed", workspace.Identity{Type: "managed"}, false},
		{"Managed:abc", workspace.Identity{Type: "managed", ClientID: "abc"}, false},
		{"managed:", workspace.Identity{}, true},
		{"user:abc", workspace.Identity{}, true},
		{"system", workspace.Identity{}, true},
	}
	for _, tt := range tests {
		got, err := ParseIdentity(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%q: got %+v, %v", tt.in, got, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"90m", 90 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"60", 0, true},
		{"0s", 0, true},
		{"-1h", 0, true},
		{"soon", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration("--idle-time", tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%q: got %v, %v", tt.in, got, err)
		}
		if err != nil && fault.KindOf(err) != fault.Usage {
			t.Errorf("%q: kind %v", tt.in, fault.KindOf(err))
		}
	}
}

func FuzzParseKeyValues(f *testing.F) {
	for _, s := range []string{"a=b", `"a=b"`, "'x'", "=", "a==b", `k="v'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kvs, err := ParseKeyValues(KVFlag{Name: "--set", Example: "a=b"}, []string{s})
		if err != nil {
			return
		}
		if len(kvs) != 1 || kvs[0].Key == "" {
			t.Fatalf("%q parsed to %+v", s, kvs)
		}
	})
}

func FuzzParseIdentity(f *testing.F) {
	for _, s := range []string{"user", "managed", "managed:id", "managed:", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseIdentity(s)
		if err == nil && id.Type != "user_identity" && id.Type != "managed" {
			t.Fatalf("%q gave type %q", s, id.Type)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1h", "90", "1.5h", "-3m", "0", "600", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration("--idle-time", s)
		if err == nil && d <= 0 {
			t.Fatalf("ParseDuration(%q) gave %v", s, d)
		}
		d, err = ParseSeconds("--timeout", s)
		if err == nil && d <= 0 {
			t.Fatalf("ParseSeconds(%q) gave %v", s, d)
		}
	})
}

func TestParseSeconds(t *testing.T) {
	for in, want := range map[string]time.Duration{"600": 600 * time.Second, "10m": 10 * time.Minute, " 5 ": 5 * time.Second} {
		if got, err := ParseSeconds("--timeout", in); err != nil || got != want {
			t.Errorf("%q: %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"0", "-1", "soon", "", "0s"} {
		if _, err := ParseSeconds("--timeout", bad); fault.KindOf(err) != fault.Usage {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

package prompty

import (
	"encoding/json"
	"testing"
)

func TestDecodeJSONKeepsBigIntegers(t *testing.T) {
	v, err := decodeJSON([]byte(`{"big": 18446744073709551616, "small": 7, "f": 1.5}`))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if n, ok := m["big"].(json.Number); !ok || string(n) != "18446744073709551616" {
		t.Errorf("big = %#v, want the exact integer", m["big"])
	}
	if m["small"] != int64(7) || m["f"] != 1.5 {
		t.Errorf("small = %#v, f = %#v", m["small"], m["f"])
	}
}

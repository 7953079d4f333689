package executor

import (
"testing"
"encoding/json"
)

func TestScratchTemplate(t *testing.T) {
	tp, err := compileTemplate("x", "system:\nhi {{name}} {{ items }} {{ d }} {{ n + 1 }} {{ f }} {{ b }} {{ none }}\n{% for e in items %}\n- {{e}}\n{% endfor %}\nuser:\n{{ name | upper }}\n")
	if err != nil {
		t.Fatal(err)
	}
	out, err := tp.render(map[string]any{"name": "bob", "items": []any{"a", 1}, "d": map[string]any{"k": "v"}, "n": json.Number("2"), "f": 1.5, "b": true, "none": nil})
	t.Logf("%q %v", out, err)
	m, err := parseChat(out)
	t.Logf("%+v %v", m, err)
}

package run

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

func TestVisualizeGoldenAndEscaping(t *testing.T) {
	evil := `<script>alert("x")</script>`
	a := writeRun(t, []executor.LineResult{
		line(1, "Completed", map[string]any{"q": "two"}, map[string]any{"answer": evil, "n": 2}),
		line(0, "Completed", map[string]any{"q": "one & <b>"}, map[string]any{"answer": "A", "n": 1}),
	}, nil)
	b := writeRun(t, []executor.LineResult{
		line(0, "Completed", map[string]any{"q": "one & <b>"}, map[string]any{"grade": "Correct"}),
		line(2, "Failed", map[string]any{"q": "three"}, nil),
	}, nil)
	created := t0
	runs := []Compared{
		{Run: &workspace.Run{Name: "run_a", DisplayName: evil, Status: "Completed", CreatedOn: &created, Duration: "1s", LinesTotal: 2}, Metrics: pyjson.ObjectOf(map[string]any{"accuracy": 0.5}), Dir: a},
		{Run: &workspace.Run{Name: "run_b", Status: "Completed", Run: "run_a", LinesTotal: 2, LinesFailed: 1}, Metrics: pyjson.ObjectOf(map[string]any{"accuracy": 1, "extra": "<i>"}), Dir: b},
	}
	var buf bytes.Buffer
	if err := Visualize(&buf, runs, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script>", "<b>", "<i>", "https://", "http://", "src="} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q unescaped or an external reference", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "one &amp; &lt;b&gt;", "&lt;i&gt;", "Execution failure"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	golden(t, "visualize.html", buf.Bytes())
}

func TestVisualizeTruncates(t *testing.T) {
	var lines []executor.LineResult
	for i := 0; i < MaxVisualRows+5; i++ {
		lines = append(lines, line(i, "Completed", map[string]any{"i": i}, map[string]any{"o": i}))
	}
	dir := writeRun(t, lines, nil)
	var buf bytes.Buffer
	if err := Visualize(&buf, []Compared{{Run: &workspace.Run{Name: "big"}, Dir: dir}}, t0); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "5 more lines are not shown") {
		t.Error("no note of the lines left out")
	}
	if n := strings.Count(buf.String(), "<tr><td class=\"num\">"); n != MaxVisualRows {
		t.Errorf("%d rows", n)
	}
}

package replay

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

func TestKeyNormalisesSanitizedParts(t *testing.T) {
	tests := []struct{ method, in, want string }{
		{"GET", "https://management.azure.com/subscriptions/s-1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws?api-version=2023-08-01-preview",
			"GET management.azure.com" + zeroWS},
		{"HEAD", "https://acct.blob.core.windows.net/azureml-blobstore-x/LocalUpload/0123456789abcdef0123456789abcdef/a.jsonl",
			"HEAD fake_account_name.blob.core.windows.net/fake-container-name/LocalUpload/" + zeroHash + "/a.jsonl"},
		{"GET", "https://acct.blob.core.windows.net/c/runs/x/flow.dag.yaml?sv=1&sig=abc&rscd=y",
			"GET fake_account_name.blob.core.windows.net/fake-container-name/runs/x/flow.dag.yaml"},
		{"GET", "https://e.api.azureml.ms/flow/api/subscriptions/a/resourcegroups/b/providers/Microsoft.MachineLearningServices/workspaces/c/BulkRuns/n/childRuns?startIndex=0&endIndex=24",
			"GET e.api.azureml.ms/flow/api" + zeroWS + "/BulkRuns/n/childRuns?endIndex=24&startIndex=0"},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.in)
		if got := Key(tt.method, u); got != tt.want {
			t.Errorf("Key(%s)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestSanitizeJSON(t *testing.T) {
	got := string(SanitizeJSON([]byte(`{"runtimeName":"automatic","sessionId":"abc","flowDefinitionBlobPath":"LocalUpload/0123456789abcdef0123456789abcdef/f/flow.dag.yaml","n":1}`)))
	for _, want := range []string{`"runtimeName":"fake-runtime-name"`, `"sessionId":"000000000000000000000000000000000000000000000000"`, `LocalUpload/` + zeroHash + `/f/flow.dag.yaml`, `"n":1`} {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
}

func TestServeRecordedAndUnmatched(t *testing.T) {
	cas, err := Load(shared.Path(t, "conformance", "recordings", "historical", "test_run_bulk_clientwait_flowsessions_2023-12.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := New(t, cas)
	c := s.Client()
	resp, err := c.Get("https://management.azure.com/subscriptions/x/resourceGroups/y/providers/Microsoft.MachineLearningServices/workspaces/z?api-version=2023-08-01-preview")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "discoveryUrl") {
		t.Fatalf("status %d body %s", resp.StatusCode, b)
	}
	resp, err = c.Get("https://example.invalid/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || len(s.Unmatched()) != 1 {
		t.Fatalf("unmatched request: status %d, unmatched %d", resp.StatusCode, len(s.Unmatched()))
	}
	if len(s.Unused()) != len(cas.Interactions)-1 {
		t.Fatalf("unused = %d", len(s.Unused()))
	}
}

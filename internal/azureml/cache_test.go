package azureml

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/testutil/tmpfs"
)

const testKey = "c2VjcmV0LWFjY291bnQta2V5"

func submitOK(f *fakeAML) {
	f.on("POST /flow/api"+testWS+"/BulkRuns/submit", jsonHandler(200, "run1"))
}

// armCalls counts the ARM and flow-service calls other than the submit.
func armCalls(f *fakeAML, from int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, k := range f.log[from:] {
		if !strings.HasPrefix(k, "HEAD /blob/") && !strings.HasPrefix(k, "PUT /blob/") && !strings.HasSuffix(k, "/BulkRuns/submit") {
			out = append(out, k)
		}
	}
	return out
}

func logLen(f *fakeAML) int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.log) }

func TestSecondCommandUsesTheDiskCaches(t *testing.T) {
	f := newFake(t)
	submitOK(f)
	dir := t.TempDir()
	now := time.Now()
	clock := func() time.Time { return now }
	first, _ := f.workspace(t, func(o *Options) { o.CacheDir = dir; o.Now = clock })
	if _, err := first.Runs().Submit(context.Background(), submission(t), nil); err != nil {
		t.Fatal(err)
	}
	// The datastore listing described workspaceblobstore: no A3.
	if n := f.count("GET " + testWS + "/datastores/workspaceblobstore"); n != 0 {
		t.Errorf("%d datastore GETs after the default listing described it", n)
	}
	// A new process within the TTL: only the upload checks and the submit.
	mark := logLen(f)
	second, _ := f.workspace(t, func(o *Options) { o.CacheDir = dir; o.Now = clock })
	if _, err := second.Runs().Submit(context.Background(), submission(t), nil); err != nil {
		t.Fatal(err)
	}
	if calls := armCalls(f, mark); len(calls) != 0 {
		t.Fatalf("a warm submit made %v", calls)
	}
	// Past the TTL everything is looked up again.
	mark = logLen(f)
	later := func() time.Time { return now.Add(11 * time.Minute) }
	third, _ := f.workspace(t, func(o *Options) { o.CacheDir = dir; o.Now = later })
	if _, err := third.Runs().Submit(context.Background(), submission(t), nil); err != nil {
		t.Fatal(err)
	}
	calls := strings.Join(armCalls(f, mark), "\n")
	for _, want := range []string{"GET " + testWS + "/datastores", "/listSecrets", "/TraceSessions", "GET " + testWS + "\n"} {
		if !strings.Contains(calls+"\n", want) {
			t.Errorf("stale caches: %q not fetched again in\n%s", want, calls)
		}
	}
}

func TestStorageCredentialOnlyInItsOwnFile(t *testing.T) {
	f := newFake(t)
	submitOK(f)
	dir := t.TempDir()
	w, _ := f.workspace(t, func(o *Options) { o.CacheDir = dir })
	if _, err := w.Runs().Submit(context.Background(), submission(t), nil); err != nil {
		t.Fatal(err)
	}
	var withKey []string
	if err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, _ := os.ReadFile(p); strings.Contains(string(data), testKey) {
				withKey = append(withKey, p)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(withKey) != 1 || withKey[0] != w.secretPath() {
		t.Fatalf("the account key is in %v; want only %s", withKey, w.secretPath())
	}
	if runtime.GOOS != "windows" {
		st, _ := os.Stat(w.secretPath())
		dst, _ := os.Stat(filepath.Dir(w.secretPath()))
		if st.Mode().Perm() != 0o600 || dst.Mode().Perm() != 0o700 {
			t.Fatalf("secrets file %v, folder %v", st.Mode(), dst.Mode())
		}
	}
	// Disabled: nothing written, listSecrets every process.
	dir2 := t.TempDir()
	for i := 0; i < 2; i++ {
		w2, _ := f.workspace(t, func(o *Options) { o.CacheDir = dir2; o.StorageCredentialTTL = -1 })
		if _, err := w2.Runs().Submit(context.Background(), submission(t), nil); err != nil {
			t.Fatal(err)
		}
		if w2.secretPath() != "" {
			t.Fatal("secret path with the cache disabled")
		}
	}
	if n := f.count("POST " + testWS + "/datastores/workspaceblobstore/listSecrets"); n != 3 {
		t.Fatalf("%d listSecrets; want 1 + 2 with the cache disabled", n)
	}
}

func TestCachedCredentialIsBoundToTheIdentity(t *testing.T) {
	f := newFake(t)
	submitOK(f)
	dir := t.TempDir()
	w, _ := f.workspace(t, func(o *Options) { o.CacheDir = dir })
	if _, err := w.Runs().Submit(context.Background(), submission(t), nil); err != nil {
		t.Fatal(err)
	}
	other, cred := f.workspace(t, func(o *Options) { o.CacheDir = dir })
	cred.claims = map[string]any{"oid": "99999999-0000-0000-0000-000000000000", "upn": "someone.else@contoso.com"}
	if _, err := other.Runs().Submit(context.Background(), submission(t), nil); err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST " + testWS + "/datastores/workspaceblobstore/listSecrets"); n != 2 {
		t.Fatalf("another identity reused the cached key (%d listSecrets)", n)
	}
}

func TestRefusedCachedKeyIsListedAgainOnce(t *testing.T) {
	f := newFake(t)
	submitOK(f)
	dir := t.TempDir()
	w, _ := f.workspace(t, func(o *Options) { o.CacheDir = dir })
	if _, err := w.Runs().Submit(context.Background(), submission(t), nil); err != nil {
		t.Fatal(err)
	}
	// The key was rotated: storage refuses the next request once.
	var refused atomic.Int32
	head := "HEAD /blob/acct/ctr/LocalUpload/fedcba9876543210fedcba9876543210/data.jsonl"
	f.on(head, func(rw http.ResponseWriter, r *http.Request) {
		if refused.Add(1) == 1 {
			rw.Header().Set("x-ms-error-code", "AuthenticationFailed")
			rw.WriteHeader(http.StatusForbidden)
			return
		}
		f.blob(rw, r, nil)
	})
	again, _ := f.workspace(t, func(o *Options) { o.CacheDir = dir })
	sub := submission(t)
	sub.Snapshot = nil
	sub.Flow, sub.FlowRemote = "azureml://registries/r/models/m/versions/1", true
	if _, err := again.Runs().Submit(context.Background(), sub, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST " + testWS + "/datastores/workspaceblobstore/listSecrets"); n != 2 {
		t.Fatalf("%d listSecrets; the refused cached key must be listed again once", n)
	}
	// A fresh key that storage refuses is an error about the credentials,
	// not a role, and is not retried forever.
	f.on(head, func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("x-ms-error-code", "AuthenticationFailed")
		rw.WriteHeader(http.StatusForbidden)
	})
	third, _ := f.workspace(t, func(o *Options) { o.CacheDir = t.TempDir() })
	_, err := third.Runs().Submit(context.Background(), sub, nil)
	if !fault.Is(err, fault.Auth) || !strings.Contains(err.Error(), "refused the credentials of datastore workspaceblobstore") ||
		strings.Contains(fault.HintOf(err), "role") {
		t.Fatalf("got %v (hint %q)", err, fault.HintOf(err))
	}
	if strings.Contains(err.Error()+fault.HintOf(err), testKey) {
		t.Fatal("the key leaked into the error")
	}
}

// renewCred is fakeCred with auth.Cache's Renew; it records the requests.
type renewCred struct {
	fakeCred
	mu     sync.Mutex
	renews []policy.TokenRequestOptions
}

func (r *renewCred) Renew(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	r.mu.Lock()
	r.renews = append(r.renews, o)
	r.mu.Unlock()
	r.Invalidate(o.Scopes...)
	return r.GetToken(ctx, o)
}

func TestUnauthorizedRenewsWithTheChallengeClaims(t *testing.T) {
	f := newFake(t)
	n := 0
	f.on("GET /flow/api"+testWS+"/BulkRuns/r1/logContent", func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			// eyJ... is {"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}
			w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzAwMDAwMDAwIn19fQ=="`)
			w.WriteHeader(401)
			return
		}
		jsonHandler(200, "ok")(w, r)
	})
	cred := &renewCred{}
	w, _ := f.workspace(t, func(o *Options) { o.ServiceEndpoint = f.srv.URL; o.Credential = cred })
	w.c.cred = cred
	if _, err := w.Runs().Logs(context.Background(), "r1"); err != nil {
		t.Fatal(err)
	}
	if len(cred.renews) != 1 || cred.renews[0].Claims != `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}` {
		t.Fatalf("renewals %+v", cred.renews)
	}
	// Refused again after the renewal: an Auth error about the token, not roles.
	f.on("GET /flow/api"+testWS+"/BulkRuns/r2/logContent", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) })
	_, err := w.Runs().Logs(context.Background(), "r2")
	if !fault.Is(err, fault.Auth) || !strings.Contains(err.Error(), "refused the Azure token") || strings.Contains(fault.HintOf(err), "role") {
		t.Fatalf("got %v (hint %q)", err, fault.HintOf(err))
	}
}

func TestChallengeClaims(t *testing.T) {
	for in, want := range map[string]string{
		`Bearer error="invalid_token", error_description="expired"`:                    "",
		`Bearer claims="eyJhIjoxfQ==", error="insufficient_claims"`:                    `{"a":1}`,
		`Bearer realm="", claims="eyJhIjoxfQ"`:                                         `{"a":1}`,
		`Bearer claims="bm90IGpzb24="`:                                                 "",
		`Bearer claims="eyJhIjoxfQ==`:                                                  "",
		`Bearer authorization_uri="https://login.microsoftonline.com/", CLAIMS="e30="`: `{}`,
	} {
		h := http.Header{}
		h.Set("WWW-Authenticate", in)
		if got := challengeClaims(h); got != want {
			t.Errorf("%s → %q, want %q", in, got, want)
		}
	}
}

func FuzzChallengeClaims(f *testing.F) {
	f.Add(`Bearer claims="eyJhIjoxfQ==", error="insufficient_claims"`)
	f.Add(`Bearer claims="`)
	f.Add(`claims=""`)
	f.Fuzz(func(t *testing.T, s string) {
		h := http.Header{}
		h.Set("WWW-Authenticate", s)
		if got := challengeClaims(h); got != "" && !json.Valid([]byte(got)) {
			t.Fatalf("%q gave claims %q that are not JSON", s, got)
		}
	})
}

func TestByteBudgetBoundsMemory(t *testing.T) {
	b := newByteBudget(100)
	ctx := context.Background()
	if err := b.acquire(ctx, 60); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		if err := b.acquire(ctx, 60); err != nil { // does not fit until the first is released
			t.Error(err)
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("acquired past the budget")
	case <-time.After(20 * time.Millisecond):
	}
	b.release(60)
	<-got
	b.release(60)
	// A single item larger than the budget still goes, alone.
	if err := b.acquire(ctx, 500); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.acquire(cctx, 1); err == nil {
		t.Fatal("acquire ignored a cancelled context while the budget was full")
	}
	if n := uploadWorkers(1000); n != maxUploadWorkers {
		t.Fatalf("uploadWorkers(1000) = %d", n)
	}
	if n := uploadWorkers(3); n != 3 {
		t.Fatalf("uploadWorkers(3) = %d", n)
	}
}

// A cache that cannot be saved on a real full disk does not fail the
// command, but it is said once on the warning stream, never silently.
func TestCacheWriteFailureIsWarnedOnce(t *testing.T) {
	f := newFake(t)
	submitOK(f)
	dir := tmpfs.Mount(t, 64<<10)
	tmpfs.Fill(t, dir, 0)
	var warn bytes.Buffer
	w, _ := f.workspace(t, func(o *Options) { o.CacheDir = dir; o.Warn = &warn })
	if _, err := w.Runs().Submit(context.Background(), submission(t), nil); err != nil {
		t.Fatal(err)
	}
	got := warn.String()
	if strings.Count(got, "warning:") != 1 || !strings.Contains(got, "no space left on device") {
		t.Fatalf("warnings = %q, want one naming the full disk", got)
	}
}

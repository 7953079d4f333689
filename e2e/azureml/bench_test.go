package azureml_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/pfz-cli/pfz/internal/auth"
	"github.com/pfz-cli/pfz/internal/azureml"
	"github.com/pfz-cli/pfz/internal/testutil/azurite"
	"github.com/pfz-cli/pfz/internal/testutil/fakews"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// pfazureRunCreate is how many round trips pfazure makes for run create of an
// unchanged flow with local data (recording
// test_azure_cli_perf_TestAzureCliPerf_test_pfazure_run_create, telemetry
// left out).
const pfazureRunCreate = 15

// pfz's ceilings for the same command (docs/benchmarks.md lists the calls).
// Cold: workspace GET, default datastore listing, listSecrets, the two
// upload checks, TraceSessions, submit. Warm (the caches of an earlier
// command): the two upload checks and the submit.
const (
	coldCeiling = 7
	warmCeiling = 3
)

// roundTrips runs `run create` of the unchanged hello flow with the given
// PFZ_HOME and returns the workspace requests it made (token requests apart).
func (h *harness) roundTrips(home, name string) (calls []string, tokens int) {
	h.tb.Helper()
	saved := h.home
	h.home = home
	defer func() { h.home = saved }()
	h.fake.ResetRequests()
	h.ok("run", "create", "-f", "hello/run.yml", "--name", name)
	for _, q := range h.fake.Requests() {
		if q.Kind == "token" {
			tokens++
			continue
		}
		calls = append(calls, q.Kind+" "+q.Method+" "+shortPath(q.Path))
	}
	return calls, tokens
}

func shortPath(p string) string {
	if i := strings.Index(p, "/workspaces/"); i >= 0 {
		rest := p[i+len("/workspaces/"):]
		if j := strings.Index(rest, "/"); j >= 0 {
			return "{WS}" + rest[j:]
		}
		return "{WS}"
	}
	if i := strings.Index(p, "/LocalUpload/"); i >= 0 {
		rest := p[i+len("/LocalUpload/"):]
		if j := strings.Index(rest, "/"); j >= 0 {
			return "LocalUpload/<hash>" + rest[j:]
		}
	}
	return p
}

// TestRunCreateRoundTrips counts what `pfz run create` sends for an
// unchanged flow with local data: cold (no cache on disk, a new process) and
// warm (the caches a previous command left). Blob requests count (they go
// through the fake's recording proxy); token requests do not (they go to the
// local identity endpoint, not the workspace). It fails when pfz makes more
// round trips than its ceilings; docs/benchmarks.md has the numbers.
func TestRunCreateRoundTrips(t *testing.T) {
	h := newHarness(t, fakews.Options{BlobProxy: true})
	h.writeFlow("Ada", "Grace")
	h.ok("run", "create", "-f", "hello/run.yml", "--name", "upload_first") // uploads; later runs find it all there

	coldHome := t.TempDir()
	cold, coldTok := h.roundTrips(coldHome, "cold")
	warm, warmTok := h.roundTrips(coldHome, "warm")
	t.Logf("cold: %d round trips (+%d token requests)\n  %s", len(cold), coldTok, strings.Join(cold, "\n  "))
	t.Logf("warm: %d round trips (+%d token requests)\n  %s", len(warm), warmTok, strings.Join(warm, "\n  "))
	if len(cold) > coldCeiling || len(warm) > warmCeiling {
		t.Fatalf("pfz made %d (cold) and %d (warm) round trips; the ceilings are %d and %d (pfazure makes %d)",
			len(cold), len(warm), coldCeiling, warmCeiling, pfazureRunCreate)
	}
	has := func(calls []string, sub string) bool {
		for _, c := range calls {
			if strings.Contains(c, sub) {
				return true
			}
		}
		return false
	}
	for _, c := range append(append([]string(nil), cold...), warm...) {
		if strings.Contains(c, " PUT ") {
			t.Fatalf("an unchanged flow was uploaded again: %v", c)
		}
		if strings.Contains(c, "/rundata") || strings.Contains(c, "GET {WS}/BulkRuns/") || strings.Contains(c, "GET {WS}/datastores/") {
			t.Errorf("%s: run create reads the run back or looks up a datastore the listing described", c)
		}
	}
	for _, want := range []string{"HEAD LocalUpload/<hash>/data.jsonl", "HEAD LocalUpload/<hash>/hello/", "POST {WS}/BulkRuns/submit"} {
		if !has(warm, want) || !has(cold, want) {
			t.Errorf("missing %q", want)
		}
	}
}

// TestStorageCredentialCache: the account key listSecrets returns is kept
// only in its own 0600 file (never in other cache files or the output); a
// cached key that storage refuses is dropped, listed again once, and the
// command still succeeds.
func TestStorageCredentialCache(t *testing.T) {
	h := newHarness(t, fakews.Options{BlobProxy: true})
	h.writeFlow("Ada")
	r := h.ok("run", "create", "-f", "hello/run.yml", "--name", "first", "--debug")
	if strings.Count(r.stderr, "ubmitted run first") != 1 {
		t.Errorf("the submission is announced %d times on stderr:\n%s", strings.Count(r.stderr, "ubmitted run first"), r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, az.Key) {
		t.Fatal("the account key reached the output")
	}
	secrets, _ := filepath.Glob(filepath.Join(h.home, "azureml", "azureml", "secrets", "*.json"))
	if len(secrets) != 1 {
		t.Fatalf("secrets files: %v", secrets)
	}
	err := filepath.WalkDir(h.home, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		if strings.Contains(string(data), az.Key) && p != secrets[0] {
			t.Errorf("the account key is in %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(secrets[0]); err != nil || (runtime.GOOS != "windows" && st.Mode().Perm() != 0o600) {
		t.Fatalf("secrets file mode %v %v", st.Mode(), err)
	}
	data, _ := os.ReadFile(secrets[0])
	if !strings.Contains(string(data), az.Key) {
		t.Fatal("the key is not cached")
	}

	// A rotated key: the cached one no longer works.
	wrong := base64.StdEncoding.EncodeToString([]byte("not the account key of azurite at all"))
	if err := os.WriteFile(secrets[0], []byte(strings.ReplaceAll(string(data), az.Key, wrong)), 0o600); err != nil {
		t.Fatal(err)
	}
	h.fake.ResetRequests()
	h.ok("run", "create", "-f", "hello/run.yml", "--name", "rotated")
	if n := h.fake.Count("POST", "/listSecrets$"); n != 1 {
		t.Fatalf("%d listSecrets after storage refused the cached key; want 1", n)
	}
	if data, _ := os.ReadFile(secrets[0]); strings.Contains(string(data), wrong) || !strings.Contains(string(data), az.Key) {
		t.Fatal("the refused key is still cached")
	}
	if _, ok := h.fake.Run("rotated"); !ok {
		t.Fatal("no run after the key was listed again")
	}
}

// BenchmarkRunCreateWarm is the wall time of `pfz run create` (process start
// to exit, no --stream) of an unchanged flow against the fake on loopback,
// with the workspace cache warm. round-trips/op are the workspace requests.
func BenchmarkRunCreateWarm(b *testing.B) {
	h := benchHarness(b)
	h.writeFlow("Ada", "Grace")
	h.ok("run", "create", "-f", "hello/run.yml", "--name", "bench_first")
	h.fake.ResetRequests()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.ok("run", "create", "-f", "hello/run.yml", "--name", fmt.Sprintf("bench_%d", i))
	}
	b.StopTimer()
	b.ReportMetric(float64(h.fake.RoundTrips())/float64(b.N), "round-trips/op")
}

// BenchmarkRunCreateCold is BenchmarkRunCreateWarm with an empty PFZ_HOME
// each time: no workspace cache on disk.
func BenchmarkRunCreateCold(b *testing.B) {
	h := benchHarness(b)
	h.writeFlow("Ada", "Grace")
	h.ok("run", "create", "-f", "hello/run.yml", "--name", "bench_first")
	homes := make([]string, b.N)
	for i := range homes {
		homes[i] = b.TempDir()
	}
	h.fake.ResetRequests()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.home = homes[i]
		h.ok("run", "create", "-f", "hello/run.yml", "--name", fmt.Sprintf("bench_%d", i))
	}
	b.StopTimer()
	b.ReportMetric(float64(h.fake.RoundTrips())/float64(b.N), "round-trips/op")
}

// benchHarness is newHarness for a benchmark (the harness only needs Helper,
// Fatal and TempDir, which testing.B has too).
func benchHarness(b *testing.B) *harness {
	b.Helper()
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	if azErr != nil {
		azurite.Unavailable(b, azErr)
	}
	fake := fakews.New(fakews.Options{BlobProxy: true, Storage: fakews.Storage{Endpoint: az.Endpoint, Account: az.Account, Key: az.Key,
		Container: "bench-" + strings.ToLower(hex.EncodeToString(randBytes(4)))}})
	if err := fake.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fake.Close)
	return &harness{tb: b, fake: fake, home: b.TempDir(), cfg: b.TempDir(), work: b.TempDir(), env: fake.ClientEnv()}
}

func randBytes(n int) []byte {
	p := make([]byte, n)
	_, _ = rand.Read(p)
	return p
}

// bigFlow writes a flow of files files totalling size bytes (incompressible),
// spread over nested folders as a real flow with vendored code would be.
func bigFlow(tb testing.TB, files int, size int64) (string, []workspace.FileRef) {
	tb.Helper()
	root := filepath.Join(tb.TempDir(), "bigflow")
	per := size / int64(files)
	var refs []workspace.FileRef
	for i := 0; i < files; i++ {
		rel := fmt.Sprintf("pkg%02d/mod%02d/file%04d.py", i%10, (i/10)%10, i)
		if i == 0 {
			rel = "flow.dag.yaml"
		}
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		data := randBytes(int(per))
		if i == 0 {
			data = []byte("inputs: {}\noutputs: {}\nnodes: []\n")
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			tb.Fatal(err)
		}
		refs = append(refs, workspace.FileRef{Rel: rel, Abs: p, Size: int64(len(data))})
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Rel < refs[j].Rel })
	return root, refs
}

// BenchmarkUpload1000Files uploads a 1,000-file, 50 MB flow to Azurite: pfz's
// submit (the HEAD check, the parallel upload, the confirmation and the
// submit itself) against a plain loop that puts one file at a time with the
// same per-file request (Put Blob with Content-MD5 and If-None-Match). Each
// iteration uses a new content hash, so everything is uploaded every time.
//
// "loopback" talks to Azurite directly; there a request costs only CPU, and
// on a 2-core machine Azurite (one node process) is the bottleneck, which
// parallel-16-ceiling (16 puts at a time, nothing else) shows. "rtt-20ms"
// and "rtt-100ms" go through the fake's blob proxy with 20 or 100 ms added
// per request, standing in for the round trip from a developer's machine to
// an Azure region (near, far). pfz runs with its default upload concurrency
// (32) and with 4 (the old 2 × NumCPU here) and 16 files in flight.
func BenchmarkUpload1000Files(b *testing.B) {
	if azErr != nil {
		azurite.Unavailable(b, azErr)
	}
	root, refs := bigFlow(b, 1000, 50<<20)
	var total int64
	for _, r := range refs {
		total += r.Size
	}
	dataFile := filepath.Join(b.TempDir(), "data.jsonl")
	_ = os.WriteFile(dataFile, []byte("{}\n"), 0o644)
	for _, net := range []struct {
		name    string
		latency time.Duration
	}{{"loopback", 0}, {"rtt-20ms", 20 * time.Millisecond}, {"rtt-100ms", 100 * time.Millisecond}} {
		// Each variant gets a fake and a container of its own, deleted after
		// it: Azurite keeps every blob's metadata in one in-memory database
		// that it saves to disk as a whole, so it slows down as blobs pile up,
		// which would favour whatever runs first.
		newFake := func(b *testing.B) (*fakews.Server, string, string) {
			container := "bench-" + hex.EncodeToString(randBytes(6))
			b.Cleanup(func() { deleteContainer(b, container) })
			opts := fakews.Options{Storage: fakews.Storage{Endpoint: az.Endpoint, Account: az.Account, Key: az.Key, Container: container}}
			if net.latency > 0 {
				opts.BlobProxy, opts.BlobLatency = true, net.latency
			}
			fake := fakews.New(opts)
			if err := fake.Start(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(fake.Close)
			return fake, strings.ReplaceAll(fake.BlobTemplate(), "{account}", az.Account), container
		}

		for _, workers := range []int{0, 4, 16} {
			// 0 is pfz's default (32 files in flight); 4 was the old
			// 2 × NumCPU on this machine.
			name := net.name + "/pfz"
			if workers > 0 {
				name += fmt.Sprintf("-%d-workers", workers)
			}
			benchPfzUpload(b, name, newFake, workers, root, refs, total, dataFile)
		}

		if net.latency > 20*time.Millisecond {
			// One at a time would take 1,000 round trips (100 s) per
			// iteration; the worker counts are what this network compares.
			continue
		}
		b.Run(net.name+"/one-at-a-time", func(b *testing.B) {
			_, accountURL, container := newFake(b)
			cc := containerClient(b, accountURL, container)
			b.SetBytes(total)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				prefix := "Sequential/" + hex.EncodeToString(randBytes(16)) + "/bigflow/"
				for _, r := range refs {
					if err := putOne(context.Background(), cc, prefix+r.Rel, r.Abs); err != nil {
						b.Fatal(err)
					}
				}
			}
		})

		if net.latency > 0 {
			continue
		}
		// The ceiling: the same requests 16 at a time with nothing else.
		b.Run(net.name+"/parallel-16-ceiling", func(b *testing.B) {
			_, accountURL, container := newFake(b)
			cc := containerClient(b, accountURL, container)
			b.SetBytes(total)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				prefix := "Parallel/" + hex.EncodeToString(randBytes(16)) + "/bigflow/"
				jobs := make(chan workspace.FileRef)
				errs := make(chan error, 16)
				var wg sync.WaitGroup
				for w := 0; w < 16; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for r := range jobs {
							if err := putOne(context.Background(), cc, prefix+r.Rel, r.Abs); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				for _, r := range refs {
					jobs <- r
				}
				close(jobs)
				wg.Wait()
				select {
				case err := <-errs:
					b.Fatal(err)
				default:
				}
			}
		})
	}
}

// benchPfzUpload is the azureml target's whole submit of the big flow, with
// the given upload concurrency (0: pfz's default).
func benchPfzUpload(b *testing.B, name string, newFake func(*testing.B) (*fakews.Server, string, string), workers int, root string, refs []workspace.FileRef, total int64, dataFile string) {
	b.Run(name, func(b *testing.B) {
		fake, _, _ := newFake(b)
		o := fake.Options()
		ws, err := azureml.New(context.Background(), azureml.Options{Subscription: o.Subscription, ResourceGroup: o.ResourceGroup,
			Workspace: o.Workspace, ARMEndpoint: fake.URL(), BlobEndpoint: fake.BlobTemplate(),
			Credential: auth.NewCache(fake.Credential(), nil), CacheDir: b.TempDir(), UploadConcurrency: workers})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(total)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			hash := hex.EncodeToString(randBytes(16))
			sub := &workspace.Submission{Name: "upload_" + hash[:12], ExperimentName: "bigflow",
				Flow: filepath.Join(root, "flow.dag.yaml"), Runtime: "automatic",
				Snapshot: &workspace.Snapshot{Root: root, Folder: "bigflow", FlowFile: "flow.dag.yaml", Hash: hash,
					BlobPath: "LocalUpload/" + hash + "/bigflow/flow.dag.yaml", Files: refs},
				Data:    &workspace.Data{Local: dataFile, Hash: hex.EncodeToString(randBytes(16))},
				Session: workspace.SessionSpec{ID: strings.Repeat("ab", 24)}}
			if _, err := ws.Runs().Submit(context.Background(), sub, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// deleteContainer removes a benchmark's container from Azurite directly.
func deleteContainer(tb testing.TB, name string) {
	cred, err := azblob.NewSharedKeyCredential(az.Account, az.Key)
	if err != nil {
		tb.Fatal(err)
	}
	opts := &azblob.ClientOptions{}
	opts.InsecureAllowCredentialWithHTTP = true
	c, err := azblob.NewClientWithSharedKeyCredential(strings.TrimRight(az.Endpoint, "/")+"/"+az.Account+"/", cred, opts)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := c.DeleteContainer(context.Background(), name, nil); err != nil {
		tb.Logf("deleting container %s: %v", name, err)
	}
}

// putOne is the per-file request both loops make: Put Blob with Content-MD5
// and If-None-Match, as pfz and azure-ai-ml send it.
func putOne(ctx context.Context, cc blockBlobs, name, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sum := md5.Sum(data)
	_, err = cc.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		HTTPHeaders:             &blob.HTTPHeaders{BlobContentType: ptr("application/octet-stream")},
		TransactionalValidation: blob.TransferValidationTypeMD5(sum[:]),
		AccessConditions:        &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: ptr(azcore.ETagAny)}},
	})
	return err
}

func ptr[T any](v T) *T { return &v }

type blockBlobs interface {
	NewBlockBlobClient(string) *blockblob.Client
}

func containerClient(tb testing.TB, accountURL, name string) blockBlobs {
	tb.Helper()
	cred, err := azblob.NewSharedKeyCredential(az.Account, az.Key)
	if err != nil {
		tb.Fatal(err)
	}
	opts := &azblob.ClientOptions{}
	opts.InsecureAllowCredentialWithHTTP = true
	opts.Retry = policy.RetryOptions{MaxRetries: 3, TryTimeout: time.Minute}
	c, err := azblob.NewClientWithSharedKeyCredential(accountURL+"/", cred, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return c.ServiceClient().NewContainerClient(name)
}

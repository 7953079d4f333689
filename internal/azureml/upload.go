package azureml

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Blob layout constants (protocol §4.2).
const (
	artifactOrigin       = "LocalUpload"
	legacyArtifactOrigin = "az-ml-artifacts"
	linkedDatastore      = "workspaceblobstore"
	// singleShotLimit: files up to this size go in one Put Blob (with
	// If-None-Match and Content-MD5); larger ones in blocks.
	singleShotLimit = 64 << 20
)

// accountURL is the blob service URL of a datastore's account.
func (w *Workspace) accountURL(d *datastore) string {
	if w.opts.BlobEndpoint != "" {
		return strings.TrimRight(strings.ReplaceAll(w.opts.BlobEndpoint, "{account}", d.Account), "/")
	}
	suffix := d.Suffix
	if suffix == "" {
		suffix = w.cloud.StorageSuffix
	}
	proto := d.Protocol
	if proto == "" {
		proto = "https"
	}
	return proto + "://" + d.Account + ".blob." + suffix
}

func isLoopback(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := pu.Hostname()
	return h == "127.0.0.1" || h == "localhost" || h == "::1"
}

// containerClient builds the azblob client for the datastore's credentials:
// account key, SAS, or (None) the user's own token to storage.
func (w *Workspace) containerClient(d *datastore) (*container.Client, error) {
	acct := w.accountURL(d)
	opts := &azblob.ClientOptions{}
	opts.Transport = w.c.hc
	opts.Retry = w.opts.Network.AzcoreRetry()
	opts.Telemetry = policy.TelemetryOptions{ApplicationID: "pfz"}
	// Azurite and test servers speak plain HTTP on loopback only.
	opts.InsecureAllowCredentialWithHTTP = isLoopback(acct)
	if w.opts.Debug != nil {
		opts.PerCallPolicies = append(opts.PerCallPolicies, blobDebugPolicy{w.c.debug})
	}
	var (
		svc *azblob.Client
		err error
	)
	switch {
	case d.key != "":
		var cred *azblob.SharedKeyCredential
		cred, err = azblob.NewSharedKeyCredential(d.Account, d.key)
		if err == nil {
			svc, err = azblob.NewClientWithSharedKeyCredential(acct+"/", cred, opts)
		}
	case d.sas != "":
		svc, err = azblob.NewClientWithNoCredential(acct+"/?"+d.sas, opts)
	default:
		svc, err = azblob.NewClient(acct+"/", w.opts.Credential, opts)
	}
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "connecting to storage account %s", d.Account)
	}
	return svc.ServiceClient().NewContainerClient(d.Container), nil
}

type blobDebugPolicy struct{ d *debugLog }

func (p blobDebugPolicy) Do(req *policy.Request) (*http.Response, error) {
	r := req.Raw()
	p.d.printf("> %s %s\n%s", r.Method, redactURL(r.URL.String()), headerLines(r.Header))
	start := time.Now()
	resp, err := req.Next()
	if err != nil {
		p.d.failure(r, err)
		return resp, err
	}
	p.d.printf("< %d %s (%s)\n%s", resp.StatusCode, redactURL(r.URL.String()), time.Since(start).Round(time.Millisecond), headerLines(resp.Header))
	return resp, nil
}

// asset is one upload: a snapshot folder, a data folder or a data file.
type asset struct {
	hash    string
	files   []uploadFile // Rel is the blob name under LocalUpload/<hash>/
	name    string       // confirmation metadata name (a uuid)
	version string       // "1" for snapshots, a uuid for data (protocol §4.4 step 5)
	what    string       // "snapshot" or "data", for messages
}

type uploadFile struct {
	rel     string // blob name below the asset root
	abs     string
	size    int64
	content []byte // when set, replaces the file on disk
}

// upload puts an asset in the datastore following protocol §4.4 and returns
// the root it lives under ("LocalUpload/<hash>" or the legacy root).
func (w *Workspace) upload(ctx context.Context, d *datastore, a asset, rep workspace.Reporter) (string, error) {
	if len(a.files) == 0 {
		return "", fault.New(fault.Validation, "the %s to upload has no file", a.what)
	}
	if a.hash == "" {
		return "", fault.New(fault.Failed, "the %s has no content hash", a.what)
	}
	cc, err := w.containerClient(d)
	if err != nil {
		return "", err
	}
	files := append([]uploadFile(nil), a.files...)
	// The indicator is the first file in path order: the one pfazure's
	// check_blob_exists looks at and marks complete last.
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	indicator := files[0].rel
	root := artifactOrigin + "/" + a.hash
	props, err := cc.NewBlobClient(root+"/"+indicator).GetProperties(ctx, nil)
	overwrite := false
	switch {
	case err == nil:
		if metaCompleted(props.Metadata) {
			return root, nil // unchanged: one HEAD and nothing uploaded
		}
		// An indicator without the confirmation: an earlier upload was cut
		// short. An asset uploaded by older tools may live under the legacy root.
		legacy := legacyArtifactOrigin + "/" + a.hash
		if lp, lerr := cc.NewBlobClient(legacy+"/"+indicator).GetProperties(ctx, nil); lerr == nil && metaCompleted(lp.Metadata) {
			return legacy, nil
		}
		overwrite = true
	case bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) || isStatus(err, http.StatusNotFound):
	default:
		return "", w.blobFail(err, d, "checking %s in storage", a.what)
	}
	w.putMu.Lock()
	defer w.putMu.Unlock()
	if err := w.putFiles(ctx, cc, d, root, files, overwrite, a.what, rep); err != nil {
		return "", err
	}
	// The confirmation goes last, and only when every file is in: a cancelled
	// or failed upload is never marked complete.
	if err := ctx.Err(); err != nil {
		return "", err
	}
	meta := map[string]*string{"name": &a.name, "upload_status": ptr("completed"), "version": &a.version}
	if _, err := cc.NewBlobClient(root+"/"+indicator).SetMetadata(ctx, meta, nil); err != nil {
		return "", w.blobFail(err, d, "confirming the %s upload", a.what)
	}
	return root, nil
}

// uploadTo uploads the asset to the named datastore. A credential from the
// secrets cache that storage refuses (rotated, expired) is dropped and
// listed again, once.
func (w *Workspace) uploadTo(ctx context.Context, name string, a asset, rep workspace.Reporter) (string, *datastore, error) {
	for try := 0; ; try++ {
		d, err := w.datastoreWithSecrets(ctx, name)
		if err != nil {
			return "", nil, err
		}
		root, err := w.upload(ctx, d, a, rep)
		var denied *storageDenied
		if err != nil && try == 0 && d.fromCache && errors.As(err, &denied) {
			w.dropCredentials(d)
			continue
		}
		return root, d, err
	}
}

func ptr[T any](v T) *T { return &v }

func metaCompleted(m map[string]*string) bool {
	for k, v := range m {
		// Azurite and Go's header canonicalisation capitalise metadata keys.
		if strings.EqualFold(k, "upload_status") && v != nil && *v == "completed" {
			return true
		}
	}
	return false
}

func isStatus(err error, code int) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == code
}

// storageDenied is storage's 401 or 403, kept apart so an upload can tell a
// refused cached credential from other failures.
type storageDenied struct {
	status int
	code   string // x-ms-error-code
	msg    string // redacted
}

func (e *storageDenied) Error() string { return e.msg }

func (w *Workspace) blobFail(err error, d *datastore, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) && (re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized) {
		denied := &storageDenied{status: re.StatusCode, code: re.ErrorCode, msg: redactText(firstLine(re.Error()))}
		if d.key != "" || d.sas != "" {
			// A shared key or SAS that storage refuses is wrong or expired
			// (AuthenticationFailed), or the SAS lacks a permission: no role
			// assignment changes that.
			return fault.Wrap(fault.Auth, denied, "%s: storage account %s refused the credentials of datastore %s (HTTP %d %s)", what, d.Account, d.Name, re.StatusCode, orDash(re.ErrorCode)).
				WithHint("the datastore's account key or SAS may have been rotated or expired, or this machine's clock is off; check the datastore's credentials in the studio (Data → Datastores → %s) and the clock, then try again", d.Name)
		}
		return fault.Wrap(fault.Auth, denied, "%s: access to storage account %s container %s was denied", what, d.Account, d.Container).
			WithHint("the datastore uses your identity: grant %s the Storage Blob Data Contributor role on account %s, or use a datastore with an account key", w.c.principalName(), d.Account)
	}
	return fault.Wrap(fault.Failed, errors.New(redactText(firstLine(err.Error()))), "%s", what)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// progress sums bytes sent over parallel uploads; retries may send a part
// twice, so each file reports its offset rather than a running count.
type progress struct {
	rep   workspace.Reporter
	total int64
	done  atomic.Int64 // bytes of finished files
	mu    sync.Mutex
	cur   map[string]int64
	last  time.Time
}

func (p *progress) set(name string, n int64) {
	if p.rep == nil {
		return
	}
	p.mu.Lock()
	p.cur[name] = n
	var sum int64
	for _, v := range p.cur {
		sum += v
	}
	now := time.Now()
	emit := now.Sub(p.last) > 100*time.Millisecond
	if emit {
		p.last = now
	}
	p.mu.Unlock()
	if emit {
		p.rep.Report(workspace.Event{Kind: workspace.EventBytes, Done: p.done.Load() + sum, Total: p.total})
	}
}

func (p *progress) finish(name string, size int64) {
	if p.rep == nil {
		return
	}
	p.mu.Lock()
	delete(p.cur, name)
	var sum int64
	for _, v := range p.cur {
		sum += v
	}
	p.mu.Unlock()
	done := p.done.Add(size)
	p.rep.Report(workspace.Event{Kind: workspace.EventBytes, Done: done + sum, Total: p.total})
}

type countingReader struct {
	r    io.ReadSeeker
	pos  int64
	name string
	p    *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.pos += int64(n)
	c.p.set(c.name, c.pos)
	return n, err
}

func (c *countingReader) Seek(off int64, whence int) (int64, error) {
	n, err := c.r.Seek(off, whence)
	c.pos = n
	return n, err
}

func (w *Workspace) putFiles(ctx context.Context, cc *container.Client, d *datastore, root string, files []uploadFile, overwrite bool, what string, rep workspace.Reporter) error {
	var total int64
	for _, f := range files {
		total += f.size
	}
	prog := &progress{rep: rep, total: total, cur: map[string]int64{}}
	if rep != nil {
		rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: fmt.Sprintf("Uploading %s (%d files, %d bytes) to %s/%s", what, len(files), total, d.Name, root)})
		rep.Report(workspace.Event{Kind: workspace.EventBytes, Done: 0, Total: total})
	}
	workers := uploadWorkers(len(files))
	if c := w.opts.UploadConcurrency; c > 0 {
		workers = min(c, len(files))
	}
	budget := newByteBudget(uploadMemory)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan uploadFile)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				held := f.size
				if f.content == nil && f.size > singleShotLimit {
					held = blockUploadMemory
				}
				if err := budget.acquire(ctx, held); err != nil {
					continue
				}
				err := w.putFile(ctx, cc, root+"/"+f.rel, f, overwrite, prog)
				budget.release(held)
				if err != nil {
					errOnce.Do(func() {
						firstErr = w.blobFail(err, d, "uploading %s file %s", what, f.rel)
						cancel()
					})
					continue
				}
				prog.finish(f.rel, f.size)
			}
		}()
	}
feed:
	for _, f := range files {
		select {
		case jobs <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// Upload concurrency. A file is one Put Blob, so on a real network its
// time is mostly the round trip: many in flight hide it (azure-ai-ml uses
// 2 × CPUs threads, which is 4 on a laptop). 32 was the fastest count
// measured with 20 and 100 ms round trips and on loopback, also on 2 cores
// (docs/benchmarks.md). Memory is bounded by bytes, not workers: a worker
// holds a file in memory while it is sent, so files wait for room under
// uploadMemory (one larger file may go alone).
const (
	maxUploadWorkers  = 32
	uploadMemory      = 96 << 20
	blockUploadMemory = 4 * 8 << 20 // UploadFile: 4 blocks of 8 MiB in flight
)

func uploadWorkers(files int) int {
	return max(1, min(maxUploadWorkers, files))
}

// byteBudget is a counting semaphore over bytes.
type byteBudget struct {
	mu    sync.Mutex
	limit int64
	used  int64
	wake  chan struct{}
}

func newByteBudget(limit int64) *byteBudget {
	return &byteBudget{limit: limit, wake: make(chan struct{})}
}

// acquire waits until n bytes fit, or nothing else is held (so a file larger
// than the budget still goes, alone).
func (b *byteBudget) acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.used == 0 || b.used+n <= b.limit {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

func (w *Workspace) putFile(ctx context.Context, cc *container.Client, name string, f uploadFile, overwrite bool, prog *progress) error {
	bb := cc.NewBlockBlobClient(name)
	headers := &blob.HTTPHeaders{BlobContentType: ptr("application/octet-stream")}
	var ac *blob.AccessConditions
	if !overwrite {
		ac = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: ptr(azcore.ETagAny)}}
	}
	var err error
	if f.content != nil || f.size <= singleShotLimit {
		data := f.content
		if data == nil {
			if data, err = os.ReadFile(f.abs); err != nil {
				return err
			}
		}
		opts := &blockblob.UploadOptions{HTTPHeaders: headers, AccessConditions: ac}
		if len(data) > 0 {
			sum := md5.Sum(data)
			opts.TransactionalValidation = blob.TransferValidationTypeMD5(sum[:])
		}
		body := &countingReader{r: bytes.NewReader(data), name: f.rel, p: prog}
		_, err = bb.Upload(ctx, streaming.NopCloser(body), opts)
	} else {
		var fh *os.File
		if fh, err = os.Open(f.abs); err != nil {
			return err
		}
		defer fh.Close()
		_, err = bb.UploadFile(ctx, fh, &blockblob.UploadFileOptions{
			BlockSize: 8 << 20, Concurrency: 4, HTTPHeaders: headers, AccessConditions: ac,
			Progress: func(n int64) { prog.set(f.rel, n) },
		})
	}
	if err != nil && !overwrite && (bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) || isStatus(err, http.StatusConflict) || isStatus(err, http.StatusPreconditionFailed)) {
		// Same hash, same path: the content is already there (a parallel or
		// earlier run put it). Put Blob is atomic, so it is whole.
		return nil
	}
	return err
}

// uploadSnapshot uploads the flow snapshot to workspaceblobstore and returns
// the blob path of the flow file (flowDefinitionBlobPath).
func (w *Workspace) uploadSnapshot(ctx context.Context, s *workspace.Snapshot, rep workspace.Reporter) (string, error) {
	folder := s.Folder
	if folder == "" {
		folder = path.Base(strings.ReplaceAll(s.Root, "\\", "/"))
	}
	a := asset{hash: s.Hash, name: newRequestID(), version: "1", what: "flow snapshot"}
	for _, f := range s.Files {
		a.files = append(a.files, uploadFile{rel: folder + "/" + f.Rel, abs: f.Abs, size: sizeOf(f), content: f.Content})
	}
	root, _, err := w.uploadTo(ctx, linkedDatastore, a, rep)
	if err != nil {
		return "", err
	}
	flowFile := s.FlowFile
	if flowFile == "" {
		flowFile = "flow.dag.yaml"
	}
	return root + "/" + folder + "/" + flowFile, nil
}

func sizeOf(f workspace.FileRef) int64 {
	if f.Content != nil {
		return int64(len(f.Content))
	}
	return f.Size
}

// uploadData uploads local data to the default datastore and returns its
// azureml:// URI (protocol §4.5; a folder ends in "/"). Remote data passes
// through unchanged.
func (w *Workspace) uploadData(ctx context.Context, dd *workspace.Data, rep workspace.Reporter) (string, error) {
	if dd == nil {
		return "", nil
	}
	if dd.Remote != "" {
		return dd.Remote, nil
	}
	if err := w.checkKind(ctx); err != nil {
		return "", err
	}
	def, err := w.defaultDatastore(ctx)
	if err != nil {
		return "", err
	}
	base := path.Base(strings.ReplaceAll(dd.Local, "\\", "/"))
	hash := dd.Hash
	if hash == "" && !dd.IsDir {
		if hash, err = fileHash(dd.Local); err != nil {
			return "", fault.Wrap(fault.Validation, err, "reading data %s", dd.Local)
		}
	}
	a := asset{hash: hash, name: newRequestID(), version: newRequestID(), what: "data"}
	if dd.IsDir {
		for _, f := range dd.Files {
			a.files = append(a.files, uploadFile{rel: base + "/" + f.Rel, abs: f.Abs, size: sizeOf(f), content: f.Content})
		}
	} else {
		size := int64(0)
		if len(dd.Files) == 1 {
			size = sizeOf(dd.Files[0])
		} else if st, err := os.Stat(dd.Local); err == nil {
			size = st.Size()
		}
		a.files = []uploadFile{{rel: base, abs: dd.Local, size: size}}
	}
	root, d, err := w.uploadTo(ctx, def.Name, a, rep)
	if err != nil {
		return "", err
	}
	uri := "azureml://datastores/" + d.Name + "/paths/" + root + "/" + base
	if dd.IsDir {
		uri += "/"
	}
	return uri, nil
}

// amlHashSeed starts every azure-ai-ml object hash (protocol §4.3).
const amlHashSeed = "Initialize for october 2021 AML CLI version"

// fileHash is the AML hash of one file: the seed, then the bytes.
func fileHash(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	h.Write([]byte(amlHashSeed))
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// checkKind refuses a hub workspace, as pfazure does before using the default
// datastore.
func (w *Workspace) checkKind(ctx context.Context) error {
	info, err := w.workspaceInfo(ctx)
	if err != nil {
		return err
	}
	switch strings.ToLower(info.Kind) {
	case "", "default", "project":
		return nil
	}
	return fault.New(fault.Validation, "workspace %s is of kind %q; runs and sessions need an Azure Machine Learning workspace or an Azure AI project", w.opts.Workspace, info.Kind).
		WithHint("point pfz at a project inside the hub (--workspace-name <project>) instead of the hub itself")
}

package fakews

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// blobStore is the fake service's own access to the datastore container,
// as the real service reaches the workspace storage account.
type blobStore struct {
	st   Storage
	cred *azblob.SharedKeyCredential
	cc   *container.Client
}

func (st Storage) accountURL() string {
	return strings.TrimRight(st.Endpoint, "/") + "/" + st.Account
}

func newBlobStore(st Storage) (*blobStore, error) {
	if st.Account == "" || st.Key == "" {
		return nil, fmt.Errorf("fakews: Storage needs Account and Key")
	}
	cred, err := azblob.NewSharedKeyCredential(st.Account, st.Key)
	if err != nil {
		return nil, err
	}
	opts := &azblob.ClientOptions{}
	opts.InsecureAllowCredentialWithHTTP = true // Azurite on loopback speaks HTTP
	opts.Retry = policy.RetryOptions{MaxRetries: 2, RetryDelay: 50 * time.Millisecond}
	svc, err := azblob.NewClientWithSharedKeyCredential(st.accountURL()+"/", cred, opts)
	if err != nil {
		return nil, err
	}
	return &blobStore{st: st, cred: cred, cc: svc.ServiceClient().NewContainerClient(st.Container)}, nil
}

func (b *blobStore) ensureContainer(ctx context.Context) error {
	_, err := b.cc.Create(ctx, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("fakews: creating container %s: %w", b.st.Container, err)
	}
	return nil
}

// read returns a blob's content; found is false when it does not exist.
func (b *blobStore) read(ctx context.Context, name string) ([]byte, bool, error) {
	resp, err := b.cc.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		if bloberror.HasCode(err, bloberror.BlobNotFound) {
			return nil, false, nil
		}
		return nil, false, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return data, err == nil, err
}

type blobInfo struct {
	name string
	size int64
}

// list returns the blobs under prefix, in name order.
func (b *blobStore) list(ctx context.Context, prefix string) ([]blobInfo, error) {
	var out []blobInfo
	pg := b.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Segment.BlobItems {
			if it.Name == nil {
				continue
			}
			var size int64
			if it.Properties != nil && it.Properties.ContentLength != nil {
				size = *it.Properties.ContentLength
			}
			out = append(out, blobInfo{name: *it.Name, size: size})
		}
	}
	return out, nil
}

func (b *blobStore) write(ctx context.Context, name string, data []byte) error {
	_, err := b.cc.NewBlockBlobClient(name).UploadBuffer(ctx, data, nil)
	return err
}

// sasURL is a read-only SAS URL of a blob, as the content service hands out.
func (b *blobStore) sasURL(name string, now time.Time) (string, error) {
	qp, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     now.Add(-5 * time.Minute).UTC(),
		ExpiryTime:    now.Add(time.Hour).UTC(),
		Permissions:   (&sas.BlobPermissions{Read: true}).String(),
		ContainerName: b.st.Container,
		BlobName:      name,
	}.SignWithSharedKey(b.cred)
	if err != nil {
		return "", err
	}
	return b.st.accountURL() + "/" + b.st.Container + "/" + escapePath(name) + "?" + qp.Encode(), nil
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// proxyHandler forwards blob requests to Azurite unchanged (same path, so
// SharedKey signatures still match), recording them and applying faults.
func (s *Server) proxyHandler() http.Handler {
	target, _ := url.Parse(strings.TrimRight(s.opts.Storage.Endpoint, "/"))
	// Keep connections to Azurite as a client's own would be kept: Go's
	// default of two idle connections per host would make the proxy dial
	// again for most parallel requests, a cost the real path does not have.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	rp := &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("x-ms-error-code", "FakewsProxyError")
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := s.arrive("blob", r)
		f := s.matchFault(r)
		switch {
		case f != nil && f.ExpireTokens:
			s.ExpireTokens()
		case f != nil && (f.Truncate || f.Garbage):
			s.serveCorrupted(w, r, q, f, func(w http.ResponseWriter) { rp.ServeHTTP(w, r) })
			return
		case f != nil:
			s.done(q, s.applyFault(w, r, "blob", f), true)
			return
		}
		if s.opts.BlobLatency > 0 {
			time.Sleep(s.opts.BlobLatency)
		}
		rec := &statusRecorder{ResponseWriter: w}
		rp.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.done(q, rec.status, false)
	})
}

// Blobs lists the datastore container's blob names under prefix, straight
// from the blob service (not through the proxy, so nothing is recorded).
func (s *Server) Blobs(ctx context.Context, prefix string) ([]string, error) {
	if s.blobs == nil {
		return nil, fmt.Errorf("fakews: no storage")
	}
	list, err := s.blobs.list(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(list))
	for i, b := range list {
		out[i] = b.name
	}
	return out, nil
}

// ReadBlob returns a blob of the datastore container.
func (s *Server) ReadBlob(ctx context.Context, name string) ([]byte, error) {
	if s.blobs == nil {
		return nil, fmt.Errorf("fakews: no storage")
	}
	data, found, err := s.blobs.read(ctx, name)
	if err == nil && !found {
		err = fmt.Errorf("fakews: blob %s not found", name)
	}
	return data, err
}

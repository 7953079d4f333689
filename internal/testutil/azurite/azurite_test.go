package azurite

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// TestStartServesTheAccount checks what the azureml tests rely on: the
// instance answers SharedKey requests for its own account with its own key,
// keeps metadata, refuses a wrong key, and is gone after Stop.
func TestStartServesTheAccount(t *testing.T) {
	inst := Start(t)
	if !strings.HasPrefix(inst.Endpoint, "http://127.0.0.1:") || inst.Account != Account || inst.Key == "" || inst.PID <= 0 {
		t.Fatalf("instance %+v", inst)
	}
	if got := inst.BlobTemplate(); got != inst.Endpoint+"/{account}" {
		t.Fatalf("template %q", got)
	}
	ctx := context.Background()
	client := func(key string) *azblob.Client {
		cred, err := azblob.NewSharedKeyCredential(inst.Account, key)
		if err != nil {
			t.Fatal(err)
		}
		opts := &azblob.ClientOptions{}
		opts.InsecureAllowCredentialWithHTTP = true
		opts.Retry = policy.RetryOptions{MaxRetries: -1}
		c, err := azblob.NewClientWithSharedKeyCredential(inst.AccountURL()+"/", cred, opts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := client(inst.Key)
	if _, err := c.CreateContainer(ctx, "ctr", nil); err != nil {
		t.Fatalf("create container: %v\n%s", err, inst.Log())
	}
	v := "completed"
	if _, err := c.UploadBuffer(ctx, "ctr", "LocalUpload/h/a.txt", []byte("hello"), &azblob.UploadBufferOptions{Metadata: map[string]*string{"upload_status": &v}}); err != nil {
		t.Fatal(err)
	}
	props, err := c.ServiceClient().NewContainerClient("ctr").NewBlobClient("LocalUpload/h/a.txt").GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for k, val := range props.Metadata {
		// Keys come back capitalised (design.md); only a case-blind match works.
		if strings.EqualFold(k, "upload_status") && val != nil && *val == "completed" {
			found = true
		}
	}
	if !found {
		t.Fatalf("metadata %v", props.Metadata)
	}
	rd, err := c.DownloadStream(ctx, "ctr", "LocalUpload/h/a.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rd.Body)
	rd.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("body %q", body)
	}
	// A wrong key must be refused, or the key from listSecrets proves nothing.
	if _, err := client("d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktISE=").CreateContainer(ctx, "other", nil); err == nil {
		t.Fatal("a wrong account key was accepted")
	}
	inst.Stop()
	if err := syscall.Kill(inst.PID, 0); err == nil {
		t.Fatalf("azurite pid %d still alive after Stop", inst.PID)
	}
	inst.Stop() // idempotent
}

func TestCacheDirHonoursEnv(t *testing.T) {
	t.Setenv("PFZ_TEST_CACHE", "/tmp/somewhere")
	if got := CacheDir(); got != "/tmp/somewhere" {
		t.Fatalf("CacheDir %q", got)
	}
}

func TestUnavailableWithoutNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("PFZ_TEST_CACHE", t.TempDir())
	_, err := Install(context.Background())
	if err == nil || !strings.Contains(err.Error(), "node not found") {
		t.Fatalf("got %v", err)
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("not ErrUnavailable: %v", err)
	}
}

package azureml

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/pfz-cli/pfz/internal/atomicfile"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Download writes the run in pfazure's layout (protocol §5.8): dir/<name>/
// with run_metadata.json, metrics.json, logs.txt, the run's artifacts
// (flow_artifacts/, flow_outputs/, node_artifacts/, instance_results.jsonl,
// meta.json) and the snapshot under snapshot/.
func (r *runs) Download(ctx context.Context, name, dir string, overwrite bool) (string, error) {
	w := r.w
	target := filepath.Join(dir, name)
	if abs, err := filepath.Abs(target); err == nil {
		target = abs
	}
	if _, err := os.Stat(target); err == nil && !overwrite {
		return "", fault.New(fault.Usage, "run folder %q already exists", target).
			WithHint("pass --output with another folder, or --overwrite")
	}
	// One read of run history serves the status check, run_metadata.json
	// and the output's asset id.
	md, err := w.readRun(ctx, name)
	if err != nil {
		return "", err
	}
	run := w.toRun(md)
	if run.Status != workspace.RunCompleted {
		return "", fault.New(fault.Failed, "can only download a run with status Completed; run %q is %s", name, run.Status)
	}
	def, err := w.defaultDatastore(ctx)
	if err != nil {
		return "", err
	}
	if def.Type != "AzureBlob" {
		return "", fault.New(fault.Unsupported, "cannot download run %q: the workspace default datastore is of type %s, only AzureBlob is supported", name, def.Type)
	}
	metrics, err := w.lastValues(ctx, name)
	if err != nil {
		return "", err
	}
	logs, err := r.Logs(ctx, name)
	if err != nil {
		return "", err
	}
	// The run's debug_info output holds everything; older runs only have flow_outputs.
	var assetID string
	if o, ok := md.Outputs["debug_info"]; ok {
		assetID = o.AssetID
	} else if o, ok := md.Outputs["flow_outputs"]; ok {
		assetID = o.AssetID
	}
	// Everything is fetched into a folder beside the target, which takes the
	// target's place only when complete: a failure halfway leaves an
	// existing folder (and the notes in it) as it was.
	stage, err := atomicfile.StageDir(target, name)
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(stage) }() // gone after ReplaceDir; a half download otherwise
	if assetID != "" {
		dsName, prefix, err := w.assetPath(ctx, assetID)
		if err != nil {
			return "", err
		}
		if err := w.downloadPrefix(ctx, dsName, prefix, stage); err != nil {
			return "", err
		}
	}
	snap := md.Properties[pfProp+"snapshot_id"]
	if snap == "" {
		// Older runs have no snapshot_id property: BulkRuns knows it.
		fi, err := w.bulkRun(ctx, name)
		if err != nil {
			return "", w.fail(err, "getting run %s", name)
		}
		snap = fi.FlowSnapshotID
	}
	if snap != "" {
		if err := w.downloadSnapshot(ctx, snap, filepath.Join(stage, "snapshot")); err != nil {
			return "", err
		}
	}
	for fname, v := range map[string]any{"run_metadata.json": run, "metrics.json": metrics} {
		if err := atomicfile.WriteJSON(filepath.Join(stage, fname), v, atomicfile.Options{Perm: 0o644}); err != nil {
			return "", err
		}
	}
	if err := atomicfile.Write(filepath.Join(stage, "logs.txt"), []byte(logs), atomicfile.Options{Perm: 0o644}); err != nil {
		return "", err
	}
	if err := atomicfile.ReplaceDir(stage, target); err != nil {
		return "", err
	}
	return target, nil
}

// assetPath resolves a data asset id to datastore and path (data service).
func (w *Workspace) assetPath(ctx context.Context, assetID string) (string, string, error) {
	u, err := w.svc(ctx, "data/v1.0", "dataversion/getByAssetId")
	if err != nil {
		return "", "", err
	}
	resp, err := w.c.do(ctx, call{method: http.MethodPost, url: u, scope: w.cloud.armScope(), body: map[string]string{"value": assetID}, accept: "*/*", idempotent: true})
	if err != nil {
		return "", "", w.fail(err, "resolving the run's output %s", assetID)
	}
	var dv struct {
		DataVersion struct {
			DataURI string `json:"dataUri"`
		} `json:"dataVersion"`
	}
	if err := resp.json(&dv); err != nil {
		return "", "", w.fail(err, "reading the run's output")
	}
	// azureml://subscriptions/…/workspaces/…/datastores/<ds>/paths/<path>
	uri := dv.DataVersion.DataURI
	i := strings.Index(uri, "/datastores/")
	if i < 0 {
		return "", "", fault.New(fault.Failed, "unexpected output location %q", uri)
	}
	rest := uri[i+len("/datastores/"):]
	ds, p, found := strings.Cut(rest, "/paths/")
	if !found {
		return "", "", fault.New(fault.Failed, "unexpected output location %q", uri)
	}
	return ds, p, nil
}

func (w *Workspace) downloadPrefix(ctx context.Context, dsName, prefix, target string) error {
	d, err := w.datastoreWithSecrets(ctx, dsName)
	if err != nil {
		return err
	}
	cc, err := w.containerClient(d)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	pg := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return w.blobFail(err, d, "listing the run's artifacts")
		}
		for _, it := range page.Segment.BlobItems {
			if it.Name == nil {
				continue
			}
			rel := strings.TrimPrefix(*it.Name, prefix)
			if rel == "" || strings.Contains(rel, "__pycache__") {
				continue
			}
			dst, err := safeJoin(target, rel)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			f, err := os.Create(dst)
			if err != nil {
				return err
			}
			var dr blob.DownloadStreamResponse
			dr, err = cc.NewBlobClient(*it.Name).DownloadStream(ctx, nil)
			if err == nil {
				_, err = io.Copy(f, dr.Body)
				dr.Body.Close()
			}
			cerr := f.Close()
			if err != nil {
				return w.blobFail(err, d, "downloading %s", rel)
			}
			if cerr != nil {
				return fault.Wrap(fault.Failed, cerr, "cannot write %s", dst).WithHint("check the free space of %s", filepath.Dir(dst))
			}
		}
	}
	return nil
}

// safeJoin refuses a blob name that would escape the target folder.
func safeJoin(root, rel string) (string, error) {
	clean := path.Clean("/" + strings.ReplaceAll(rel, "\\", "/"))
	dst := filepath.Join(root, filepath.FromSlash(clean))
	if !strings.HasPrefix(dst, filepath.Clean(root)+string(filepath.Separator)) {
		return "", fault.New(fault.Failed, "refusing blob name %q outside the run folder", rel)
	}
	return dst, nil
}

type snapshotNode struct {
	Name     string                  `json:"name"`
	Type     string                  `json:"type"`
	SasURL   string                  `json:"sasUrl"`
	Children map[string]snapshotNode `json:"children"`
}

// downloadSnapshot fetches the run's snapshot through the content service's
// per-file SAS URLs.
func (w *Workspace) downloadSnapshot(ctx context.Context, id, target string) error {
	u, err := w.svc(ctx, "content/v2.0", "snapshots/sas")
	if err != nil {
		return err
	}
	resp, err := w.c.do(ctx, call{method: http.MethodPost, url: u, scope: w.cloud.armScope(), body: map[string]string{"snapshotOrAssetId": id}, accept: "*/*", idempotent: true})
	if err != nil {
		return w.fail(err, "getting the run's snapshot")
	}
	var root snapshotNode
	if err := resp.json(&root); err != nil {
		return w.fail(err, "reading the run's snapshot")
	}
	var walk func(n snapshotNode, rel string) error
	walk = func(n snapshotNode, rel string) error {
		if n.Type == "File" {
			if n.SasURL == "" || strings.Contains(rel, "__pycache__") {
				return nil
			}
			dst, err := safeJoin(target, rel)
			if err != nil {
				return err
			}
			return w.fetchURL(ctx, n.SasURL, dst)
		}
		for name, c := range n.Children {
			if err := walk(c, path.Join(rel, name)); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root, "")
}

func (w *Workspace) fetchURL(ctx context.Context, u, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	resp, err := w.c.do(ctx, call{method: http.MethodGet, url: u, accept: "*/*"})
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) {
			he.URL = redactURL(he.URL)
		}
		return w.fail(err, "downloading %s", filepath.Base(dst))
	}
	if err := os.WriteFile(dst, resp.body, 0o644); err != nil {
		return fault.Wrap(fault.Failed, err, "cannot write %s", dst).WithHint("check the free space of %s", filepath.Dir(dst))
	}
	return nil
}

package azureml

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azfile/fileerror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azfile/service"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azfile/share"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

type restFlow struct {
	FlowID                 string            `json:"flowId"`
	FlowName               string            `json:"flowName"`
	Description            string            `json:"description"`
	Tags                   map[string]string `json:"tags"`
	FlowType               string            `json:"flowType"`
	CreatedDate            string            `json:"createdDate"`
	Owner                  map[string]any    `json:"owner"`
	FlowResourceID         string            `json:"flowResourceId"`
	IsArchived             bool              `json:"isArchived"`
	FlowDefinitionFilePath string            `json:"flowDefinitionFilePath"`
	StudioPortalEndpoint   string            `json:"studioPortalEndpoint"`
}

// flowType maps the service's flow types to pfazure's (rag and default are
// standard).
func flowType(t string) string {
	switch strings.ToLower(t) {
	case "", "default", "rag", "standard":
		return "standard"
	}
	return strings.ToLower(t)
}

func (f restFlow) toFlow() *workspace.Flow {
	return &workspace.Flow{Name: f.FlowID, Type: flowType(f.FlowType), Description: f.Description, Tags: f.Tags,
		Path: f.FlowDefinitionFilePath, Code: f.FlowResourceID, DisplayName: f.FlowName, Owner: f.Owner,
		IsArchived: f.IsArchived, CreatedDate: f.CreatedDate, PortalURL: f.StudioPortalEndpoint}
}

// GetFlow reads a workspace flow by its GUID.
func (w *Workspace) GetFlow(ctx context.Context, id string) (*workspace.Flow, error) {
	info, err := w.workspaceInfo(ctx)
	if err != nil {
		return nil, err
	}
	u, err := w.flowURL(ctx, "Flows/"+url.PathEscape(id))
	if err != nil {
		return nil, err
	}
	resp, err := w.c.do(ctx, call{method: http.MethodGet, url: u, query: url.Values{"experimentId": {info.WorkspaceID}}, scope: w.cloud.armScope()})
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return nil, fault.Wrap(fault.NotFound, err, "Flow '%s' not found.", id).
				WithHint("`pfz flow list` shows your flows; the name is the flow's GUID")
		}
		return nil, w.fail(err, "Failed to get flow '%s'", id)
	}
	var rf restFlow
	if err := resp.json(&rf); err != nil {
		return nil, w.fail(err, "reading flow %s", id)
	}
	return rf.toFlow(), nil
}

// UpdateFlow changes a flow's display name, description and tags
// (PUT Flows/{id}); unlike pfazure it reads the flow first, so a missing
// display name keeps the current one instead of becoming the GUID.
func (w *Workspace) UpdateFlow(ctx context.Context, id string, upd workspace.FlowUpdate) (*workspace.Flow, error) {
	cur, err := w.GetFlow(ctx, id)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"flowName": cur.DisplayName}
	if upd.DisplayName != nil {
		body["flowName"] = *upd.DisplayName
	}
	if upd.Description != nil {
		body["description"] = *upd.Description
	}
	if upd.Tags != nil {
		tags := map[string]string{}
		for k, v := range cur.Tags {
			tags[k] = v
		}
		for k, v := range upd.Tags {
			tags[k] = v
		}
		body["tags"] = tags
	}
	return w.putFlow(ctx, id, body)
}

func (w *Workspace) putFlow(ctx context.Context, id string, body map[string]any) (*workspace.Flow, error) {
	info, err := w.workspaceInfo(ctx)
	if err != nil {
		return nil, err
	}
	u, err := w.flowURL(ctx, "Flows/"+url.PathEscape(id))
	if err != nil {
		return nil, err
	}
	resp, err := w.c.do(ctx, call{method: http.MethodPut, url: u, query: url.Values{"experimentId": {info.WorkspaceID}},
		scope: w.cloud.armScope(), body: body, idempotent: true})
	if err != nil {
		return nil, w.fail(err, "Failed to update azure flow '%s'", id)
	}
	var rf restFlow
	if err := resp.json(&rf); err != nil || rf.FlowID == "" {
		// The service may answer the PUT with no body; pfazure reads the
		// flow back, and so does pfz then.
		return w.GetFlow(ctx, id)
	}
	return rf.toFlow(), nil
}

// ListFlows lists workspace flows through the index service, newest first,
// the signed-in user's unless IncludeOthers. Unlike pfazure, --type filters.
func (w *Workspace) ListFlows(ctx context.Context, o workspace.FlowListOptions) ([]*workspace.Flow, error) {
	if o.MaxResults < 1 {
		return nil, fault.New(fault.Usage, "'max_results' must be a positive integer, got %d", o.MaxResults)
	}
	archived := []string{"false"}
	switch {
	case o.ArchivedOnly:
		archived = []string{"true"}
	case o.IncludeArchived:
		archived = []string{"false", "true"}
	}
	filters := []map[string]any{
		{"field": "type", "operator": "eq", "values": []string{"flows"}},
		{"field": "annotations/isArchived", "operator": "eq", "values": archived},
	}
	tok, err := w.c.token(ctx, w.cloud.armScope())
	if err != nil {
		return nil, err
	}
	claims := claimsOf(tok)
	if tid, _ := claims["tid"].(string); tid != "" {
		filters = append(filters, map[string]any{"field": "properties/creationContext/createdBy/userTenantId", "operator": "eq", "values": []string{tid}})
	}
	if oid, _ := claims["oid"].(string); oid != "" && !o.IncludeOthers {
		filters = append(filters, map[string]any{"field": "properties/creationContext/createdBy/userObjectId", "operator": "eq", "values": []string{oid}})
	}
	u, err := w.svc(ctx, "index/v1.0", "entities")
	if err != nil {
		return nil, err
	}
	var out []*workspace.Flow
	var cont string
	for {
		body := map[string]any{"filters": filters, "freeTextSearch": "",
			"order":    []map[string]any{{"direction": "Desc", "field": "properties/creationContext/createdTime"}},
			"pageSize": min(o.MaxResults, 100), "skip": 0, "includeTotalResultCount": true, "searchBuilder": "AppendPrefix"}
		if cont != "" {
			body["continuationToken"] = cont
		}
		resp, err := w.c.do(ctx, call{method: http.MethodPost, url: u, scope: w.cloud.armScope(), body: body, idempotent: true})
		if err != nil {
			return nil, w.fail(err, "Failed to get flows from index service")
		}
		var page struct {
			Value []struct {
				Annotations struct {
					FlowName    string            `json:"flowName"`
					Description string            `json:"description"`
					Tags        map[string]string `json:"tags"`
					Owner       map[string]any    `json:"owner"`
					IsArchived  bool              `json:"isArchived"`
					CreatedDate string            `json:"createdDate"`
				} `json:"annotations"`
				Properties struct {
					FlowID                 string `json:"flowId"`
					FlowType               string `json:"flowType"`
					FlowDefinitionFilePath string `json:"flowDefinitionFilePath"`
				} `json:"properties"`
			} `json:"value"`
			ContinuationToken string `json:"continuationToken"`
		}
		if err := resp.json(&page); err != nil {
			return nil, w.fail(err, "reading the flows from the index service")
		}
		for _, e := range page.Value {
			f := &workspace.Flow{Name: e.Properties.FlowID, Type: flowType(e.Properties.FlowType), Description: e.Annotations.Description,
				Tags: e.Annotations.Tags, Path: e.Properties.FlowDefinitionFilePath, DisplayName: e.Annotations.FlowName,
				Owner: e.Annotations.Owner, IsArchived: e.Annotations.IsArchived, CreatedDate: e.Annotations.CreatedDate}
			if o.Type != "" && f.Type != o.Type {
				continue
			}
			out = append(out, f)
			if len(out) >= o.MaxResults {
				return out, nil
			}
		}
		if page.ContinuationToken == "" || len(page.Value) == 0 {
			return out, nil
		}
		cont = page.ContinuationToken
	}
}

// CreateFlow uploads a flow folder to the workspace's file share and makes
// it a workspace flow, as pfazure's flow create does. Unlike pfazure it is
// idempotent: when the user has a flow of the same display name, that
// flow's folder gets the new files (files no longer in the flow are
// deleted) and its description and tags are updated, so that a CI job that
// runs flow create again does not make a new flow each time.
func (w *Workspace) CreateFlow(ctx context.Context, c workspace.FlowCreate) (*workspace.FlowResult, error) {
	if c.Snapshot == nil {
		return nil, fault.New(fault.Usage, "no flow to create")
	}
	if !c.New {
		// Only the signed-in user's own flows can be refreshed: without
		// the user's object id the list would hold everybody's.
		tok, err := w.c.token(ctx, w.cloud.armScope())
		if err != nil {
			return nil, err
		}
		if oid, _ := claimsOf(tok)["oid"].(string); oid == "" {
			return nil, fault.New(fault.Auth, "cannot tell which flows are yours: the Azure token carries no object id").
				WithHint("pass --new to make a new flow without looking for one of the same display name")
		}
		existing, err := w.ListFlows(ctx, workspace.FlowListOptions{MaxResults: math.MaxInt32})
		if err != nil {
			return nil, err
		}
		for _, f := range existing {
			if f.DisplayName == c.DisplayName && f.Path != "" {
				return w.refreshFlow(ctx, f, c)
			}
		}
	}
	if c.Type == "" {
		c.Type = "standard"
	}
	shareClient, err := w.shareClient(ctx)
	if err != nil {
		return nil, err
	}
	base := "Users/" + c.UserAlias + "/promptflow"
	for _, dir := range []string{"Users", "Users/" + c.UserAlias, base} {
		if err := makeDir(ctx, shareClient, dir); err != nil {
			return nil, w.fail(err, "Failed to upload flow to file share")
		}
	}
	// pfazure fails when the folder exists (two creates in one second);
	// pfz takes the next free name, <folder>-2, -3, …
	folder := ""
	for i := 1; folder == ""; i++ {
		name := c.Folder
		if i > 1 {
			name = fmt.Sprintf("%s-%d", c.Folder, i)
		}
		_, err := shareClient.NewDirectoryClient(base+"/"+name).GetProperties(ctx, nil)
		switch {
		case err == nil && i < 100:
		case err == nil:
			return nil, fault.New(fault.Validation, "Remote flow folder '%s' already exists under '%s'. Please change the flow folder name and try again.", c.Folder, base)
		case fileerror.HasCode(err, fileerror.ResourceNotFound):
			folder = base + "/" + name
		default:
			return nil, w.fail(err, "Failed to upload flow to file share")
		}
	}
	n, err := w.uploadFlowFiles(ctx, shareClient, folder, c.Snapshot, false)
	if err != nil {
		return nil, err
	}
	u, err := w.flowURL(ctx, "Flows")
	if err != nil {
		return nil, err
	}
	st := c.Type
	if st == "standard" {
		st = "default"
	}
	body := map[string]any{"flowName": c.DisplayName, "flowDefinitionFilePath": folder + "/" + c.Snapshot.FlowFile, "flowType": st}
	if c.Description != "" {
		body["description"] = c.Description
	}
	if len(c.Tags) > 0 {
		body["tags"] = c.Tags
	}
	resp, err := w.c.do(ctx, call{method: http.MethodPost, url: u, scope: w.cloud.armScope(), body: body})
	if err != nil {
		return nil, w.fail(err, "creating flow %s", c.DisplayName)
	}
	var rf restFlow
	if err := resp.json(&rf); err != nil {
		return nil, w.fail(err, "reading the created flow")
	}
	return &workspace.FlowResult{Flow: rf.toFlow(), Files: n}, nil
}

// refreshFlow puts the snapshot into an existing flow's folder and updates
// its description and tags.
func (w *Workspace) refreshFlow(ctx context.Context, f *workspace.Flow, c workspace.FlowCreate) (*workspace.FlowResult, error) {
	folder := path.Dir(f.Path)
	if path.Base(f.Path) != c.Snapshot.FlowFile {
		return nil, fault.New(fault.Validation, "flow %q (%s) has the flow file %s, this folder has %s", c.DisplayName, f.Name, path.Base(f.Path), c.Snapshot.FlowFile).
			WithHint("give another display name, or pass --new to make a new flow")
	}
	if c.Type != "" && c.Type != f.Type {
		return nil, fault.New(fault.Validation, "flow %q (%s) is a %s flow, not %s; a flow's type cannot change", c.DisplayName, f.Name, f.Type, c.Type).
			WithHint("give another display name, or pass --new to make a new %s flow", c.Type)
	}
	shareClient, err := w.shareClient(ctx)
	if err != nil {
		return nil, err
	}
	// Every file is uploaded before any old one is removed; a failure on
	// the way leaves the flow with some new files, which is said.
	n, err := w.uploadFlowFiles(ctx, shareClient, folder, c.Snapshot, true)
	if err != nil {
		return nil, fault.Wrap(fault.KindOf(err), err, "updating flow %s: its folder %s may now hold some new files beside the old ones", f.Name, folder).
			WithHint("run the same pfz flow create again to finish the update")
	}
	tags := map[string]string{}
	for k, v := range f.Tags {
		tags[k] = v
	}
	for k, v := range c.Tags {
		tags[k] = v
	}
	body := map[string]any{"flowName": c.DisplayName}
	if c.Description != "" {
		body["description"] = c.Description
	}
	if len(tags) > 0 {
		body["tags"] = tags
	}
	updated, err := w.putFlow(ctx, f.Name, body)
	if err != nil {
		return nil, err
	}
	return &workspace.FlowResult{Flow: updated, Updated: true, Files: n}, nil
}

// uploadFlowFiles writes the snapshot's files under folder; with prune,
// files under folder that are not in the snapshot are deleted.
func (w *Workspace) uploadFlowFiles(ctx context.Context, sc *share.Client, folder string, snap *workspace.Snapshot, prune bool) (int, error) {
	want := map[string]bool{}
	dirs := map[string]bool{}
	for _, f := range snap.Files {
		want[f.Rel] = true
		for d := path.Dir(f.Rel); d != "." && d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	if err := makeDir(ctx, sc, folder); err != nil {
		return 0, w.fail(err, "Failed to upload flow to file share")
	}
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted) // parents before children
	for _, d := range sorted {
		if err := makeDir(ctx, sc, folder+"/"+d); err != nil {
			return 0, w.fail(err, "Failed to upload flow to file share")
		}
	}
	for _, f := range snap.Files {
		data := f.Content
		if data == nil {
			b, err := os.ReadFile(f.Abs)
			if err != nil {
				return 0, fault.Wrap(fault.Failed, err, "reading %s", f.Abs)
			}
			data = b
		}
		fc := sc.NewDirectoryClient(path.Dir(folder + "/" + f.Rel)).NewFileClient(path.Base(f.Rel))
		if _, err := fc.Create(ctx, int64(len(data)), nil); err != nil {
			return 0, w.fail(err, "Failed to upload flow to file share due to: %s", f.Rel)
		}
		if len(data) > 0 {
			if err := fc.UploadBuffer(ctx, data, nil); err != nil {
				return 0, w.fail(err, "Failed to upload flow to file share due to: %s", f.Rel)
			}
		}
	}
	if prune {
		if err := pruneDir(ctx, sc, folder, "", want); err != nil {
			return 0, w.fail(err, "removing files no longer in the flow")
		}
	}
	return len(snap.Files), nil
}

// pruneDir deletes the files under folder/rel that keep does not list.
func pruneDir(ctx context.Context, sc *share.Client, folder, rel string, keep map[string]bool) error {
	dir := folder
	if rel != "" {
		dir += "/" + rel
	}
	pager := sc.NewDirectoryClient(dir).NewListFilesAndDirectoriesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, d := range page.Segment.Directories {
			if err := pruneDir(ctx, sc, folder, path.Join(rel, *d.Name), keep); err != nil {
				return err
			}
		}
		for _, f := range page.Segment.Files {
			name := path.Join(rel, *f.Name)
			if keep[name] {
				continue
			}
			if _, err := sc.NewDirectoryClient(dir).NewFileClient(*f.Name).Delete(ctx, nil); err != nil && !fileerror.HasCode(err, fileerror.ResourceNotFound) {
				return err
			}
		}
	}
	return nil
}

func makeDir(ctx context.Context, sc *share.Client, dir string) error {
	_, err := sc.NewDirectoryClient(dir).Create(ctx, nil)
	if err != nil && !fileerror.HasCode(err, fileerror.ResourceAlreadyExists) {
		return err
	}
	return nil
}

// shareClient is the file share of datastore workspaceworkingdirectory,
// with the account key from listSecrets.
func (w *Workspace) shareClient(ctx context.Context) (*share.Client, error) {
	d, err := w.datastoreOfKind(ctx, workingDirDatastore, "AzureFile")
	if err != nil {
		return nil, err
	}
	acct := w.fileAccountURL(d)
	opts := &service.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: w.c.hc, Retry: w.opts.Network.AzcoreRetry(),
		Telemetry: policy.TelemetryOptions{ApplicationID: "pfz"}, InsecureAllowCredentialWithHTTP: isLoopback(acct)}}
	var svc *service.Client
	switch {
	case d.key != "":
		cred, cerr := service.NewSharedKeyCredential(d.Account, d.key)
		if cerr != nil {
			return nil, fault.Wrap(fault.Failed, cerr, "the key of storage account %s", d.Account)
		}
		svc, err = service.NewClientWithSharedKeyCredential(acct+"/", cred, opts)
	case d.sas != "":
		svc, err = service.NewClientWithNoCredential(acct+"/?"+d.sas, opts)
	default:
		return nil, fault.New(fault.Auth, "datastore %s has no account key or SAS pfz can use for the file share", workingDirDatastore).
			WithHint("pfazure flow create needs the same; ask for the AzureML Data Scientist role, which can list datastore secrets")
	}
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "connecting to storage account %s", d.Account)
	}
	return svc.NewShareClient(d.Container), nil
}

func (w *Workspace) fileAccountURL(d *datastore) string {
	if w.opts.FileEndpoint != "" {
		return strings.TrimRight(strings.ReplaceAll(w.opts.FileEndpoint, "{account}", d.Account), "/")
	}
	suffix := d.Suffix
	if suffix == "" {
		suffix = w.cloud.StorageSuffix
	}
	return "https://" + d.Account + ".file." + suffix
}

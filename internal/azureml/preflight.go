package azureml

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// workingDirDatastore is the file-share datastore compute sessions need.
const workingDirDatastore = "workspaceworkingdirectory"

// preflight checks, before a session starts, what the compute-session guide
// lists: the workspace kind, a blob default datastore, the working-directory
// datastore, and quota for the VM size where the caller may read it.
func (w *Workspace) preflight(ctx context.Context, spec workspace.SessionSpec) error {
	if err := w.checkKind(ctx); err != nil {
		return err
	}
	def, err := w.defaultDatastore(ctx)
	if err != nil {
		return err
	}
	if def.Type != "AzureBlob" {
		return fault.New(fault.Validation, "the default datastore of workspace %s is %s (type %s); compute sessions need a blob datastore", w.opts.Workspace, def.Name, def.Type).
			WithHint("make workspaceblobstore (or another AzureBlob datastore) the default: `az ml datastore update --name workspaceblobstore --set is_default=true` or the studio's Data page")
	}
	if _, err := w.getDatastore(ctx, workingDirDatastore); err != nil {
		if fault.Is(err, fault.NotFound) {
			return fault.Wrap(fault.Validation, err, "workspace %s has no %s datastore, which compute sessions need", w.opts.Workspace, workingDirDatastore).
				WithHint("recreate it as an Azure file share datastore named %s pointing at the workspace storage account's code share", workingDirDatastore)
		}
		return err
	}
	if spec.ComputeType != workspace.ComputeComputeInstance && spec.VMSize != "" {
		if err := w.checkQuota(ctx, spec.VMSize); err != nil {
			return err
		}
	}
	return nil
}

// checkQuota compares the VM size's family quota with its vCPUs. It says
// nothing when the caller may not read sizes or usages.
func (w *Workspace) checkQuota(ctx context.Context, vmSize string) error {
	info, err := w.workspaceInfo(ctx)
	if err != nil || info.Location == "" {
		return nil //nolint:nilerr // a preflight check says nothing when it cannot look
	}
	loc := w.armBase() + "/subscriptions/" + w.opts.Subscription + "/providers/Microsoft.MachineLearningServices/locations/" + url.PathEscape(info.Location)
	resp, err := w.c.do(ctx, call{method: http.MethodGet, url: loc + "/vmSizes", query: url.Values{"api-version": {apiCompute}}, scope: w.cloud.armScope()})
	if err != nil {
		return nil //nolint:nilerr // a preflight check says nothing when it cannot look
	}
	var sizes struct {
		Value []struct {
			Name   string `json:"name"`
			Family string `json:"family"`
			VCPUs  int64  `json:"vCPUs"`
		} `json:"value"`
	}
	if resp.json(&sizes) != nil || len(sizes.Value) == 0 {
		return nil //nolint:nilerr // a preflight check says nothing when it cannot look
	}
	family, vcpus, found := "", int64(0), false
	var names []string
	for _, s := range sizes.Value {
		names = append(names, s.Name)
		if strings.EqualFold(s.Name, vmSize) {
			family, vcpus, found = s.Family, s.VCPUs, true
		}
	}
	if !found {
		return fault.New(fault.Validation, "VM size %s is not offered in region %s", vmSize, info.Location).
			WithHint("pick one of the sizes the region offers, e.g. %s", strings.Join(firstN(names, 5), ", "))
	}
	resp, err = w.c.do(ctx, call{method: http.MethodGet, url: loc + "/usages", query: url.Values{"api-version": {apiCompute}}, scope: w.cloud.armScope()})
	if err != nil {
		return nil //nolint:nilerr // a preflight check says nothing when it cannot look
	}
	var usages struct {
		Value []struct {
			Name struct {
				Value string `json:"value"`
			} `json:"name"`
			CurrentValue int64 `json:"currentValue"`
			Limit        int64 `json:"limit"`
		} `json:"value"`
	}
	if resp.json(&usages) != nil {
		return nil //nolint:nilerr // a preflight check says nothing when it cannot look
	}
	for _, u := range usages.Value {
		if strings.EqualFold(u.Name.Value, family) {
			if u.Limit-u.CurrentValue < vcpus {
				return fault.New(fault.Validation, "no quota for VM size %s in %s: family %s has %d of %d vCPUs free, the size needs %d", vmSize, info.Location, family, max64(u.Limit-u.CurrentValue, 0), u.Limit, vcpus).
					WithHint("pick a smaller VM size with --vm-size, stop sessions you no longer use, or request more quota for %s in the Azure portal", family)
			}
			return nil
		}
	}
	return nil
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

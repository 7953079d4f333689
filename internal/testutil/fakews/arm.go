package fakews

import (
	"encoding/pem"
	"net/http"
	"strings"
)

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// vmSizes is what the fake region offers: name, family, vCPUs, memory GB.
var vmSizes = []struct {
	name, family string
	vcpus        int64
	memGB        float64
}{
	{"Standard_D2", "standardDFamily", 2, 7},
	{"Standard_DS11_v2", "standardDSv2Family", 2, 14},
	{"Standard_D4s_v3", "standardDSv3Family", 4, 16},
	{"Standard_E4s_v3", "standardESv3Family", 4, 32},
	{"Standard_E4ds_v4", "standardEDSv4Family", 4, 32},
	{"Standard_E8ds_v4", "standardEDSv4Family", 8, 64},
	{"Standard_E16ds_v4", "standardEDSv4Family", 16, 128},
}

// serveARM answers the resource manager: the workspace, its datastores and
// their secrets, and the region's VM sizes and usages.
func (s *Server) serveARM(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("api-version") == "" {
		writeJSON(w, 400, armError("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."))
		return
	}
	p := r.URL.Path
	locPrefix := "/subscriptions/" + s.opts.Subscription + "/providers/Microsoft.MachineLearningServices/locations/"
	if strings.HasPrefix(strings.ToLower(p), strings.ToLower(locPrefix)) {
		s.serveLocation(w, r, p[len(locPrefix):])
		return
	}
	rest, ok := s.wsRest(p, "")
	if !ok {
		writeJSON(w, 404, armError("ResourceNotFound", "The Resource '"+p+"' was not found."))
		return
	}
	seg := strings.Split(rest, "/")
	switch {
	case rest == "" && r.Method == http.MethodGet:
		writeJSON(w, 200, s.workspaceJSON())
	case seg[0] == "datastores" && len(seg) == 1 && r.Method == http.MethodGet:
		var list []any
		for _, name := range []string{BlobDatastore, WorkingDirDatastore} {
			d := s.datastoreJSON(name)
			if r.URL.Query().Get("isDefault") == "true" && !d["properties"].(map[string]any)["isDefault"].(bool) {
				continue
			}
			list = append(list, d)
		}
		writeJSON(w, 200, map[string]any{"value": list})
	case seg[0] == "datastores" && len(seg) == 2 && r.Method == http.MethodGet:
		d := s.datastoreJSON(seg[1])
		if d == nil {
			writeJSON(w, 404, armError("UserError", "DatastoreNotFound: "+seg[1]+" does not exist"))
			return
		}
		writeJSON(w, 200, d)
	case seg[0] == "datastores" && len(seg) == 3 && seg[2] == "listSecrets" && r.Method == http.MethodPost:
		if s.datastoreJSON(seg[1]) == nil {
			writeJSON(w, 404, armError("UserError", "DatastoreNotFound: "+seg[1]+" does not exist"))
			return
		}
		writeJSON(w, 200, map[string]any{"secretsType": "AccountKey", "key": s.opts.Storage.Key})
	default:
		writeJSON(w, 404, armError("NoRegisteredProviderFound", "no such operation: "+r.Method+" "+p))
	}
}

func (s *Server) workspaceJSON() map[string]any {
	uais := map[string]any{}
	for rid, cid := range s.opts.UAIs {
		uais[rid] = map[string]any{"principalId": "p-" + cid, "clientId": cid}
	}
	props := map[string]any{
		"friendlyName": s.opts.Workspace, "workspaceId": s.opts.WorkspaceID,
		"discoveryUrl":             s.URL() + "/discovery",
		"mlFlowTrackingUri":        "azureml://" + s.opts.Location + ".api.azureml.ms/mlflow/v1.0" + s.WorkspacePath(),
		"storageAccount":           "/subscriptions/" + s.opts.Subscription + "/resourceGroups/" + s.opts.ResourceGroup + "/providers/Microsoft.Storage/storageAccounts/" + s.opts.Storage.Account,
		"provisioningState":        "Succeeded",
		"publicNetworkAccess":      "Enabled",
		"hbiWorkspace":             false,
		"v1LegacyMode":             false,
		"systemDatastoresAuthMode": "accesskey",
	}
	if s.opts.PrimaryUAI != "" {
		props["primaryUserAssignedIdentity"] = s.opts.PrimaryUAI
	}
	return map[string]any{
		"id": s.WorkspacePath(), "name": s.opts.Workspace, "type": "Microsoft.MachineLearningServices/workspaces",
		"location": s.opts.Location, "kind": s.opts.Kind, "tags": map[string]any{},
		"sku":        map[string]any{"name": "Basic", "tier": "Basic"},
		"identity":   map[string]any{"type": "SystemAssigned,UserAssigned", "principalId": "p-system", "tenantId": s.opts.User.TenantID, "userAssignedIdentities": uais},
		"properties": props,
	}
}

func (s *Server) datastoreJSON(name string) map[string]any {
	base := map[string]any{
		"description": nil, "tags": map[string]any{}, "properties": map[string]any{},
		"credentials":    map[string]any{"credentialsType": "AccountKey"},
		"subscriptionId": s.opts.Subscription, "resourceGroup": s.opts.ResourceGroup,
		"accountName": s.opts.Storage.Account, "endpoint": "core.windows.net", "protocol": "https",
		"serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity",
	}
	switch strings.ToLower(name) {
	case BlobDatastore:
		base["isDefault"] = true
		base["datastoreType"] = "AzureBlob"
		base["containerName"] = s.opts.Storage.Container
		name = BlobDatastore
	case WorkingDirDatastore:
		base["isDefault"] = false
		base["datastoreType"] = "AzureFile"
		base["fileShareName"] = "code-" + s.opts.WorkspaceID
		name = WorkingDirDatastore
	default:
		return nil
	}
	return map[string]any{
		"id": s.WorkspacePath() + "/datastores/" + name, "name": name,
		"type": "Microsoft.MachineLearningServices/workspaces/datastores", "properties": base,
		"systemData": map[string]any{"createdAt": "2024-01-01T00:00:00Z", "createdBy": "fakews", "createdByType": "Application"},
	}
}

// serveLocation answers …/locations/{loc}/vmSizes and …/usages.
func (s *Server) serveLocation(w http.ResponseWriter, r *http.Request, rest string) {
	seg := strings.Split(rest, "/")
	if len(seg) != 2 || r.Method != http.MethodGet {
		writeJSON(w, 404, armError("NoRegisteredProviderFound", "no such operation"))
		return
	}
	if !strings.EqualFold(seg[0], s.opts.Location) {
		writeJSON(w, 200, map[string]any{"value": []any{}})
		return
	}
	switch seg[1] {
	case "vmSizes":
		var list []any
		for _, v := range vmSizes {
			list = append(list, map[string]any{"name": v.name, "family": v.family, "vCPUs": v.vcpus, "gpus": 0,
				"osVhdSizeMB": 1047552, "maxResourceVolumeMB": 32768, "memoryGB": v.memGB, "lowPriorityCapable": true,
				"premiumIO": strings.Contains(v.name, "s_"), "supportedComputeTypes": []string{"ComputeInstance", "AmlCompute"}})
		}
		writeJSON(w, 200, map[string]any{"value": list})
	case "usages":
		fams := map[string]bool{}
		for _, v := range vmSizes {
			fams[v.family] = true
		}
		var list []any
		for _, f := range sortedKeys(fams) {
			q, ok := s.opts.Quotas[f]
			if !ok {
				q = Quota{Used: 0, Limit: 24}
			}
			list = append(list, map[string]any{"id": "/subscriptions/" + s.opts.Subscription + "/providers/Microsoft.MachineLearningServices/locations/" + s.opts.Location + "/usages/" + f,
				"type": "Microsoft.MachineLearningServices/usages", "unit": "Count", "currentValue": q.Used, "limit": q.Limit,
				"name": map[string]any{"value": f, "localizedValue": f + " vCPUs"}})
		}
		writeJSON(w, 200, map[string]any{"value": list})
	default:
		writeJSON(w, 404, armError("NoRegisteredProviderFound", "no such operation"))
	}
}

package fakews

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"sort"
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
	case seg[0] == "connections":
		s.serveConnections(w, r, seg[1:])
	default:
		writeJSON(w, 404, armError("NoRegisteredProviderFound", "no such operation: "+r.Method+" "+p))
	}
}

// serveConnections answers the workspace connections as ARM does: listed and
// read without their secret values (a custom connection's key names stay),
// which only listsecrets returns.
func (s *Server) serveConnections(w http.ResponseWriter, r *http.Request, seg []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	shown := func(name string, props map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range props {
			out[k] = v
		}
		if c, ok := props["credentials"].(map[string]any); ok {
			if keys, ok := c["keys"].(map[string]any); ok {
				names := map[string]any{}
				for k := range keys {
					names[k] = nil
				}
				out["credentials"] = map[string]any{"keys": names}
			} else {
				delete(out, "credentials")
			}
		}
		return map[string]any{"id": s.WorkspacePath() + "/connections/" + name, "name": name,
			"type": "Microsoft.MachineLearningServices/workspaces/connections", "properties": out}
	}
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		names := make([]string, 0, len(s.conns))
		for n := range s.conns {
			names = append(names, n)
		}
		sort.Strings(names)
		list := []any{}
		for _, n := range names {
			list = append(list, shown(n, s.conns[n]))
		}
		writeJSON(w, 200, map[string]any{"value": list})
	case len(seg) == 1 && r.Method == http.MethodGet:
		props, ok := s.conns[seg[0]]
		if !ok {
			writeJSON(w, 404, armError("NotFound", "connection "+seg[0]+" not found"))
			return
		}
		writeJSON(w, 200, shown(seg[0], props))
	case len(seg) == 1 && r.Method == http.MethodPut:
		body, _ := readAll(r)
		var req struct {
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Properties["category"] == nil || req.Properties["authType"] == nil {
			writeJSON(w, 400, armError("BadRequest", "properties.category and properties.authType are required"))
			return
		}
		s.conns[seg[0]] = req.Properties
		writeJSON(w, 200, shown(seg[0], req.Properties))
	case len(seg) == 1 && r.Method == http.MethodDelete:
		if _, ok := s.conns[seg[0]]; !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		delete(s.conns, seg[0])
		w.WriteHeader(http.StatusOK)
	case len(seg) == 2 && seg[1] == "listsecrets" && r.Method == http.MethodPost:
		props, ok := s.conns[seg[0]]
		if !ok {
			writeJSON(w, 404, armError("NotFound", "connection "+seg[0]+" not found"))
			return
		}
		writeJSON(w, 200, map[string]any{"name": seg[0], "properties": props})
	default:
		writeJSON(w, 404, armError("NoRegisteredProviderFound", "no such operation: "+r.Method+" connections/"+strings.Join(seg, "/")))
	}
}

// AddConnection creates a workspace connection with these ARM properties
// (category, authType, target, credentials, metadata), secrets included.
func (s *Server) AddConnection(name string, props map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[name] = props
}

// ConnectionProps returns a workspace connection's stored properties,
// secrets included, for tests to check what was sent.
func (s *Server) ConnectionProps(name string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.conns[name]
	return p, ok
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

package fakews

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The workspace's file share (datastore workspaceworkingdirectory) as the
// Azure Files REST API serves it, at <URL>/files/<account>/<share>/<path>:
// Azurite has no Files service. Requests must be signed with the shared key
// (the fake checks the scheme, not the signature). Only what pfz's flow
// commands use is served: directories (create, properties, list), files
// (create, put range, properties, read, delete).

// FileTemplate is the file endpoint template with {account} for pfz's
// file_endpoint setting.
func (s *Server) FileTemplate() string { return s.URL() + "/files/{account}" }

// FileShareName is the share of datastore workspaceworkingdirectory.
func (s *Server) FileShareName() string { return "code-" + s.opts.WorkspaceID }

type shareEntry struct {
	dir  bool
	data []byte
}

// ShareFiles lists the files under prefix in the file share with their
// contents, for tests.
func (s *Server) ShareFiles(prefix string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for p, e := range s.share {
		if !e.dir && strings.HasPrefix(p, prefix) {
			out[p] = string(e.data)
		}
	}
	return out
}

func fileError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>`+code+`</Code><Message>`+code+`</Message></Error>`)
}

func (s *Server) serveFiles(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "SharedKey ") && r.URL.Query().Get("sig") == "" {
		fileError(w, 403, "AuthenticationFailed")
		return
	}
	w.Header().Set("x-ms-version", r.Header.Get("x-ms-version"))
	rest := strings.TrimPrefix(r.URL.EscapedPath(), "/files/")
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 || parts[0] != s.opts.Storage.Account || parts[1] != s.FileShareName() {
		fileError(w, 404, "ShareNotFound")
		return
	}
	p := ""
	if len(parts) == 3 {
		var err error
		if p, err = url.PathUnescape(parts[2]); err != nil {
			fileError(w, 400, "InvalidUri")
			return
		}
	}
	p = strings.Trim(p, "/")
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.share == nil {
		s.share = map[string]*shareEntry{}
	}
	parentOK := func(p string) bool {
		i := strings.LastIndex(p, "/")
		if i < 0 {
			return true
		}
		e, ok := s.share[p[:i]]
		return ok && e.dir
	}
	e, exists := s.share[p]
	switch {
	case q.Get("restype") == "directory" && q.Get("comp") == "list" && r.Method == http.MethodGet:
		if p != "" && (!exists || !e.dir) {
			fileError(w, 404, "ResourceNotFound")
			return
		}
		s.listDir(w, p)
	case q.Get("restype") == "directory" && r.Method == http.MethodPut:
		switch {
		case exists:
			fileError(w, 409, "ResourceAlreadyExists")
		case !parentOK(p):
			fileError(w, 404, "ParentNotFound")
		default:
			s.share[p] = &shareEntry{dir: true}
			w.WriteHeader(201)
		}
	case q.Get("restype") == "directory" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		if p != "" && (!exists || !e.dir) {
			fileError(w, 404, "ResourceNotFound")
			return
		}
		w.WriteHeader(200)
	case q.Get("comp") == "range" && r.Method == http.MethodPut:
		if !exists || e.dir {
			fileError(w, 404, "ResourceNotFound")
			return
		}
		var from, to int
		if _, err := fmtSscanRange(r.Header.Get("x-ms-range"), &from, &to); err != nil || to >= len(e.data) || from > to {
			fileError(w, 416, "InvalidRange")
			return
		}
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("x-ms-write") == "clear" {
			body = make([]byte, to-from+1)
		}
		if len(body) != to-from+1 {
			fileError(w, 400, "InvalidHeaderValue")
			return
		}
		copy(e.data[from:], body)
		w.WriteHeader(201)
	case q.Get("comp") == "" && r.Method == http.MethodPut && r.Header.Get("x-ms-type") == "file":
		size, err := strconv.Atoi(r.Header.Get("x-ms-content-length"))
		switch {
		case err != nil || size < 0:
			fileError(w, 400, "InvalidHeaderValue")
		case exists && e.dir:
			fileError(w, 409, "ResourceTypeMismatch")
		case !parentOK(p):
			fileError(w, 404, "ParentNotFound")
		default:
			s.share[p] = &shareEntry{data: make([]byte, size)}
			w.WriteHeader(201)
		}
	case r.Method == http.MethodHead || r.Method == http.MethodGet:
		if !exists || e.dir {
			fileError(w, 404, "ResourceNotFound")
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(e.data)))
		w.Header().Set("x-ms-type", "File")
		w.WriteHeader(200)
		if r.Method == http.MethodGet {
			_, _ = w.Write(e.data) // an error: the client went away
		}
	case r.Method == http.MethodDelete:
		if !exists || e.dir {
			fileError(w, 404, "ResourceNotFound")
			return
		}
		delete(s.share, p)
		w.WriteHeader(202)
	default:
		fileError(w, 400, "UnsupportedHttpVerb")
	}
}

func fmtSscanRange(h string, from, to *int) (int, error) {
	a, b, _ := strings.Cut(strings.TrimPrefix(h, "bytes="), "-")
	var err error
	if *from, err = strconv.Atoi(a); err != nil {
		return 0, err
	}
	if *to, err = strconv.Atoi(b); err != nil {
		return 0, err
	}
	return 2, nil
}

// listDir writes the EnumerationResults of a directory; callers hold s.mu.
func (s *Server) listDir(w http.ResponseWriter, dir string) {
	type entry struct {
		XMLName    xml.Name
		Name       string `xml:"Name"`
		Properties struct {
			ContentLength *int `xml:"Content-Length,omitempty"`
		} `xml:"Properties"`
	}
	var names []string
	for p := range s.share {
		parent := ""
		if i := strings.LastIndex(p, "/"); i >= 0 {
			parent = p[:i]
		}
		if parent == dir && p != "" {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	var dirs, files []entry
	for _, p := range names {
		e := entry{Name: p[strings.LastIndex(p, "/")+1:]}
		if s.share[p].dir {
			e.XMLName = xml.Name{Local: "Directory"}
			dirs = append(dirs, e)
		} else {
			n := len(s.share[p].data)
			e.XMLName = xml.Name{Local: "File"}
			e.Properties.ContentLength = &n
			files = append(files, e)
		}
	}
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="` + s.URL() + `/" ShareName="` + s.FileShareName() + `" DirectoryPath="` + dir + `"><Entries>`)
	enc := xml.NewEncoder(&buf)
	for _, e := range append(dirs, files...) {
		_ = enc.Encode(e)
	}
	_ = enc.Flush() // into a buffer
	buf.WriteString(`</Entries><NextMarker /></EnumerationResults>`)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(200)
	_, _ = w.Write(buf.Bytes()) // an error: the client went away
}

// ---- Flows API and the flows of the index ----

type wsFlow struct {
	ID, Name, Description, Type, Path string
	Tags                              map[string]string
	Archived                          bool
	Created, Modified                 time.Time
}

func (s *Server) flowJSON(f *wsFlow) map[string]any {
	return map[string]any{
		"eTag": map[string]any{}, "flowId": f.ID, "flowName": f.Name, "description": f.Description, "tags": f.Tags,
		"flowType": f.Type, "experimentId": s.opts.WorkspaceID, "createdDate": f.Created.UTC().Format(time.RFC3339Nano),
		"lastModifiedDate": f.Modified.UTC().Format(time.RFC3339Nano),
		"owner":            map[string]any{"userObjectId": s.opts.User.ObjectID, "userTenantId": s.opts.User.TenantID, "userName": "Jane Doe"},
		"flowResourceId":   "azureml://locations/" + s.opts.Location + "/workspaces/" + s.opts.WorkspaceID + "/flows/" + f.ID,
		"isArchived":       f.Archived, "flowDefinitionFilePath": f.Path, "enableMultiContainer": false,
		"studioPortalEndpoint": "https://ml.azure.com/prompts/flow/" + s.opts.WorkspaceID + "/" + f.ID + "/details?wsid=" + s.WorkspacePath(),
	}
}

// serveFlows answers POST Flows, GET and PUT Flows/{id}; callers route
// /flow/api/{WS}/Flows…
func (s *Server) serveFlows(w http.ResponseWriter, r *http.Request, seg []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flows == nil {
		s.flows = map[string]*wsFlow{}
	}
	var body struct {
		FlowName               *string           `json:"flowName"`
		Description            *string           `json:"description"`
		Tags                   map[string]string `json:"tags"`
		FlowType               string            `json:"flowType"`
		FlowDefinitionFilePath string            `json:"flowDefinitionFilePath"`
	}
	switch {
	case len(seg) == 1 && r.Method == http.MethodPost:
		if err := readJSON(r, &body); err != nil || body.FlowName == nil || body.FlowDefinitionFilePath == "" {
			writeJSON(w, 400, s.flowError(400, "UserError", "BadArgument", "flowName and flowDefinitionFilePath are required"))
			return
		}
		if e, ok := s.share[body.FlowDefinitionFilePath]; !ok || e.dir {
			writeJSON(w, 400, s.flowError(400, "UserError", "BadArgument", "flow definition file "+body.FlowDefinitionFilePath+" does not exist in the file share"))
			return
		}
		typ := map[string]string{"default": "Default", "evaluation": "Evaluation", "chat": "Chat"}[strings.ToLower(body.FlowType)]
		if typ == "" {
			writeJSON(w, 400, s.flowError(400, "UserError", "BadArgument", "unknown flowType "+body.FlowType))
			return
		}
		now := s.opts.Now()
		f := &wsFlow{ID: newUUID(), Name: *body.FlowName, Type: typ, Path: body.FlowDefinitionFilePath, Tags: body.Tags, Created: now, Modified: now}
		if body.Description != nil {
			f.Description = *body.Description
		}
		s.flows[f.ID] = f
		writeJSON(w, 200, s.flowJSON(f))
	case len(seg) == 2 && (r.Method == http.MethodGet || r.Method == http.MethodPut):
		f, ok := s.flows[seg[1]]
		if !ok {
			writeJSON(w, 404, s.flowError(404, "UserError", "FlowNotFound", "Flow "+seg[1]+" not found"))
			return
		}
		if r.Method == http.MethodPut {
			if err := readJSON(r, &body); err != nil {
				writeJSON(w, 400, s.flowError(400, "UserError", "BadArgument", err.Error()))
				return
			}
			if body.FlowName != nil {
				f.Name = *body.FlowName
			}
			if body.Description != nil {
				f.Description = *body.Description
			}
			if body.Tags != nil {
				f.Tags = body.Tags
			}
			f.Modified = s.opts.Now()
		}
		writeJSON(w, 200, s.flowJSON(f))
	default:
		writeJSON(w, 404, s.flowError(404, "UserError", "NotFound", "no such API: "+r.Method+" Flows/"+strings.Join(seg[1:], "/")))
	}
}

// flowEntities answers an index query of type flows; callers hold s.mu.
func (s *Server) flowEntities(archived map[string]bool, pageSize int) []any {
	var all []*wsFlow
	for _, f := range s.flows {
		if archived[strconv.FormatBool(f.Archived)] {
			all = append(all, f)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Created.After(all[j].Created) })
	out := []any{}
	for _, f := range all {
		if len(out) >= pageSize {
			break
		}
		out = append(out, map[string]any{
			"entityId": "azureml://location/" + s.opts.Location + "/workspaceId/" + s.opts.WorkspaceID + "/type/flows/objectId/" + s.opts.WorkspaceID + ":" + f.ID,
			"kind":     "Unversioned", "type": "flows",
			"annotations": map[string]any{"archived": f.Archived, "tags": f.Tags, "flowName": f.Name, "isArchived": f.Archived,
				"createdDate": f.Created.UTC().Format(time.RFC3339Nano), "lastModifiedDate": f.Modified.UTC().Format(time.RFC3339Nano),
				"owner": map[string]any{"userObjectId": s.opts.User.ObjectID, "userTenantId": s.opts.User.TenantID, "userName": "Jane Doe"}, "description": f.Description},
			"properties": map[string]any{"creationContext": map[string]any{"createdTime": f.Created.UTC().Format(time.RFC3339Nano),
				"createdBy": map[string]any{"userObjectId": s.opts.User.ObjectID, "userTenantId": s.opts.User.TenantID, "userName": "Jane Doe"}},
				"flowId": f.ID, "experimentId": s.opts.WorkspaceID, "flowType": f.Type, "flowDefinitionFilePath": f.Path},
		})
	}
	return out
}

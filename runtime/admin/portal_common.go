package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/runtime/internal/reqbody"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// The resources the workspace and portal endpoints are authorized as
// (Call.Entity); RBAC decides them by path like every call.
const (
	ResourceWorkspaces     = "workspaces"
	ResourceFiles          = "files"
	ResourceDevelopers     = "developers"
	ResourceDeveloperRoles = "developer_roles"
)

// portalHandler serves the workspace and portal endpoints (workspaces.go,
// portal_files.go, developers.go) from the store.
type portalHandler struct {
	st      *store.Store
	maxArgs int
}

// portalEndpoints are the /workspaces, /files, /developers endpoints,
// served (and authorized) as plugin endpoints are, before the entity
// routes; the /default prefix reaches them like every route.
func (s *Server) portalEndpoints() []Endpoint {
	h := &portalHandler{st: s.store, maxArgs: s.opts.MaxPostArgs}
	ep := func(method, path, resource string, fn http.HandlerFunc) Endpoint {
		return Endpoint{Method: method, Path: path, Resource: resource, Handler: fn}
	}
	return append([]Endpoint{
		ep(http.MethodGet, "/workspaces", ResourceWorkspaces, h.listWorkspaces),
		ep(http.MethodPost, "/workspaces", ResourceWorkspaces, h.createWorkspace),
		ep(http.MethodGet, "/workspaces/:workspace", ResourceWorkspaces, h.getWorkspace),
		ep(http.MethodPatch, "/workspaces/:workspace", ResourceWorkspaces, h.patchWorkspace),
		ep(http.MethodPut, "/workspaces/:workspace", ResourceWorkspaces, h.patchWorkspace),
		ep(http.MethodDelete, "/workspaces/:workspace", ResourceWorkspaces, h.deleteWorkspace),

		ep(http.MethodGet, "/files", ResourceFiles, h.listFiles),
		ep(http.MethodPost, "/files", ResourceFiles, h.createFile),
		ep(http.MethodGet, "/files/*", ResourceFiles, h.getFile),
		ep(http.MethodPatch, "/files/*", ResourceFiles, h.patchFile),
		ep(http.MethodDelete, "/files/*", ResourceFiles, h.deleteFile),

		ep(http.MethodGet, "/developers/roles", ResourceDeveloperRoles, h.listRoles),
		ep(http.MethodPost, "/developers/roles", ResourceDeveloperRoles, h.createRole),
		ep(http.MethodGet, "/developers/roles/:role", ResourceDeveloperRoles, h.getRole),
		ep(http.MethodPatch, "/developers/roles/:role", ResourceDeveloperRoles, h.patchRole),
		ep(http.MethodDelete, "/developers/roles/:role", ResourceDeveloperRoles, h.deleteRole),
		ep(http.MethodGet, "/developers", ResourceDevelopers, h.listDevelopers),
		ep(http.MethodPost, "/developers", ResourceDevelopers, h.createDeveloper),
		ep(http.MethodGet, "/developers/:developer", ResourceDevelopers, h.getDeveloper),
		ep(http.MethodPatch, "/developers/:developer", ResourceDevelopers, h.patchDeveloper),
		ep(http.MethodDelete, "/developers/:developer", ResourceDevelopers, h.deleteDeveloper),
	}, h.applicationEndpoints()...) // portal_apps.go
}

// writeKong answers with v as JSON, without HTML escaping (as Kong's cjson).
func writeKong(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"message":"An unexpected error occurred"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
}

// portalFail answers an error with Kong's body: store errors with their
// code, name, message and fields; request body errors with a message.
func portalFail(w http.ResponseWriter, err error) {
	var be *reqbody.BodyError
	if errors.As(err, &be) {
		writeKong(w, http.StatusBadRequest, map[string]any{"message": be.Message})
		return
	}
	var ume *reqbody.UnsupportedMediaTypeError
	if errors.As(err, &ume) {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	if e, ok := store.AsError(err); ok {
		status := StatusFor(e.Code)
		switch {
		case status == http.StatusNotFound:
			writeKong(w, status, map[string]any{"message": "Not found"})
			return
		case status >= 500:
			writeKong(w, status, map[string]any{"message": "An unexpected error occurred"})
			return
		}
		body := errorBody{Code: e.Code, Name: e.Code.Name(), Message: e.Message, Fields: e.Fields}
		writeKong(w, status, body)
		return
	}
	writeKong(w, http.StatusInternalServerError, map[string]any{"message": "An unexpected error occurred"})
}

// violation is a schema violation on one field, answered with 400.
func violation(field, msg string) error {
	return store.SchemaViolation(schema.Errors{field: msg})
}

// input decodes the request body by content type (JSON, form, multipart:
// a file part's content is its field's value) and returns the context the
// store must write with: JSON values carry their types, form values are
// typed by the schema.
func (h *portalHandler) input(r *http.Request) (map[string]any, context.Context, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, &reqbody.BodyError{Message: "Bad request", Err: err}
	}
	ct := r.Header.Get("Content-Type")
	ctx := r.Context()
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, ctx, nil
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json") {
		ctx = store.WithTypedInput(ctx)
	}
	in, err := reqbody.DecodeStrict(ct, body, h.maxArgs)
	if err != nil {
		return nil, nil, err
	}
	if in == nil {
		in = map[string]any{}
	}
	return in, ctx, nil
}

// writableFields keeps the fields of a portal entity's input that a client
// may set; a read-only field or an unknown one is refused with Kong's
// schema violation.
func writableFields(in map[string]any, settable, readOnly []string) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range in {
		switch {
		case slices.Contains(settable, k):
			out[k] = v
		case slices.Contains(readOnly, k):
			return nil, violation(k, "cannot be set")
		default:
			return nil, violation(k, "unknown field")
		}
	}
	return out, nil
}

// decode reads the request's body and keeps its writable fields (keep);
// on failure it answers the request and returns ok false.
func (h *portalHandler) decode(w http.ResponseWriter, r *http.Request, keep func(map[string]any) (map[string]any, error)) (map[string]any, context.Context, bool) {
	raw, ctx, err := h.input(r)
	if err == nil {
		raw, err = keep(raw)
	}
	if err != nil {
		portalFail(w, err)
		return nil, nil, false
	}
	return raw, ctx, true
}

// pathParam returns a path parameter, unescaped.
func pathParam(r *http.Request, name string) string {
	v := r.PathValue(name)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// listPage lists one page of an entity as the Admin API's collections do:
// size (default 100, at most 1000) and offset from the query; next and
// offset when more follow.
func (h *portalHandler) listPage(w http.ResponseWriter, r *http.Request, entity, base string,
	keep func(map[string]any) bool, present func(map[string]any) map[string]any) {
	var show func(context.Context, map[string]any) (map[string]any, error)
	if present != nil {
		show = func(_ context.Context, rec map[string]any) (map[string]any, error) { return present(rec), nil }
	}
	h.listPageQuery(w, r, entity, base, store.ListQuery{}, keep, show)
}

// listPageQuery is listPage over the rows q selects (its ForeignField and
// ForeignKey; size and offset come from the request), with a present
// that may read the store and fail.
func (h *portalHandler) listPageQuery(w http.ResponseWriter, r *http.Request, entity, base string, q store.ListQuery,
	keep func(map[string]any) bool, present func(context.Context, map[string]any) (map[string]any, error)) {
	q.Size, q.Offset = 100, r.URL.Query().Get("offset")
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxPageSize {
			portalFail(w, store.InvalidSize("size must be an integer between 1 and "+strconv.Itoa(store.MaxPageSize)))
			return
		}
		q.Size = n
	}
	page, err := h.st.List(r.Context(), entity, q)
	if err != nil {
		portalFail(w, err)
		return
	}
	data := make([]any, 0, len(page.Data))
	for _, rec := range page.Data {
		if keep != nil && !keep(rec) {
			continue
		}
		if present != nil {
			if rec, err = present(r.Context(), rec); err != nil {
				portalFail(w, err)
				return
			}
		}
		data = append(data, rec)
	}
	out := map[string]any{"data": data, "next": nil}
	if page.Offset != "" {
		out["offset"] = page.Offset
		out["next"] = base + "?offset=" + url.QueryEscape(page.Offset)
	}
	writeKong(w, http.StatusOK, out)
}

package admin

import (
	"net/http"

	"github.com/gatehouse/gatehouse/store"
)

// Portal files (Kong Enterprise's /files): specs under specs/ and content
// pages, named by path (`/files/specs/orders.yml`, slashes and all). A
// spec must be a YAML or JSON object; a file's headmatter (a spec's
// `x-headmatter`, a page's front matter) must be well formed, readable_by
// a list of role names or "*". The checksum is the SHA-256 of contents.

// filePath is the path a /files/* call names.
func filePath(r *http.Request) string { return pathParam(r, "*1") }

// checkFile refuses contents whose headmatter ParseHeadmatter rejects;
// with no path or no contents it passes (the schema reports those).
func checkFile(path, contents string) error {
	if path == "" || contents == "" {
		return nil
	}
	if _, err := store.ParseHeadmatter(path, contents); err != nil {
		return violation("contents", err.Error())
	}
	return nil
}

// fileInput keeps the writable fields of a file: path and contents.
func fileInput(in map[string]any) (map[string]any, error) {
	return writableFields(in, []string{"path", "contents"}, []string{"id", "checksum", "created_at", "updated_at"})
}

// fileKey is the path a PATCH or DELETE of one file names; false
// (answered 405, as Kong answers the collection) when it names none.
func fileKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	key := filePath(r)
	if key == "" {
		writeKong(w, http.StatusMethodNotAllowed, map[string]any{"message": "Method not allowed"})
		return "", false
	}
	return key, true
}

// fileRecord reads the file under key; false when answered (404 or a
// store error).
func (h *portalHandler) fileRecord(w http.ResponseWriter, r *http.Request, key string) (map[string]any, bool) {
	rec, err := h.st.Get(r.Context(), "files", key)
	if err != nil {
		portalFail(w, err)
		return nil, false
	}
	return rec, true
}

func (h *portalHandler) listFiles(w http.ResponseWriter, r *http.Request) {
	h.listPage(w, r, "files", "/files", nil, nil)
}

func (h *portalHandler) createFile(w http.ResponseWriter, r *http.Request) {
	in, ctx, ok := h.decode(w, r, fileInput)
	if !ok {
		return
	}
	path, _ := in["path"].(string)
	contents, _ := in["contents"].(string)
	if err := checkFile(path, contents); err != nil {
		portalFail(w, err)
		return
	}
	rec, err := h.st.Insert(ctx, "files", in)
	if err != nil {
		portalFail(w, err)
		return
	}
	writeKong(w, http.StatusCreated, rec)
}

func (h *portalHandler) getFile(w http.ResponseWriter, r *http.Request) {
	key := filePath(r)
	if key == "" {
		h.listFiles(w, r)
		return
	}
	if rec, ok := h.fileRecord(w, r, key); ok {
		writeKong(w, http.StatusOK, rec)
	}
}

func (h *portalHandler) patchFile(w http.ResponseWriter, r *http.Request) {
	key, ok := fileKey(w, r)
	if !ok {
		return
	}
	old, ok := h.fileRecord(w, r, key)
	if !ok {
		return
	}
	in, ctx, ok := h.decode(w, r, fileInput)
	if !ok {
		return
	}
	path, _ := old["path"].(string)
	contents, _ := old["contents"].(string)
	if v, ok := in["path"].(string); ok {
		path = v
	}
	if v, ok := in["contents"].(string); ok {
		contents = v
	}
	if err := checkFile(path, contents); err != nil {
		portalFail(w, err)
		return
	}
	rec, err := h.st.Update(ctx, "files", old["id"].(string), in)
	if err != nil {
		portalFail(w, err)
		return
	}
	writeKong(w, http.StatusOK, rec)
}

func (h *portalHandler) deleteFile(w http.ResponseWriter, r *http.Request) {
	key, ok := fileKey(w, r)
	if !ok {
		return
	}
	if _, err := h.st.Delete(r.Context(), "files", key); err != nil {
		portalFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

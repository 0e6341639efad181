package proxycache

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
)

// api serves Kong's proxy-cache Admin API endpoints (api.lua): read and
// purge cached entries by key, across every proxy-cache configuration or
// within one, and flush them all.
type api struct {
	store *store.Store
	log   *slog.Logger
}

func endpoints(env plugin.EndpointEnv) []plugin.Endpoint {
	a := &api{store: env.Store, log: env.Log}
	if a.log == nil {
		a.log = slog.Default()
	}
	ep := func(method, path string, h http.HandlerFunc) plugin.Endpoint {
		return plugin.Endpoint{Method: method, Path: path, Admin: true, Handler: h}
	}
	return []plugin.Endpoint{
		ep(http.MethodDelete, "/proxy-cache", a.flush),
		ep(http.MethodGet, "/proxy-cache/:cache_key", a.get),
		ep(http.MethodDelete, "/proxy-cache/:cache_key", a.purge),
		ep(http.MethodGet, "/proxy-cache/:plugin_id/caches/:cache_key", a.getIn),
		ep(http.MethodDelete, "/proxy-cache/:plugin_id/caches/:cache_key", a.purgeIn),
	}
}

// dictionariesInUse returns the dictionaries of every proxy-cache
// configuration, in the store's order, each once.
func (a *api) dictionariesInUse(ctx context.Context) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	q := store.ListQuery{Size: store.MaxPageSize}
	for {
		page, err := a.store.List(ctx, "plugins", q)
		if err != nil {
			return nil, err
		}
		for _, p := range page.Data {
			if p["name"] != Name {
				continue
			}
			if d := dictionaryOf(p); d != "" && !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
		if page.Offset == "" {
			return out, nil
		}
		q.Offset = page.Offset
	}
}

func dictionaryOf(p map[string]any) string {
	cfg, _ := p["config"].(map[string]any)
	mem, _ := cfg["memory"].(map[string]any)
	d, _ := mem["dictionary_name"].(string)
	return d
}

func (a *api) flush(w http.ResponseWriter, r *http.Request) {
	dicts, err := a.dictionariesInUse(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	for _, d := range dicts {
		memory.Flush(d)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) find(ctx context.Context, key string) (string, *Entry, error) {
	dicts, err := a.dictionariesInUse(ctx)
	if err != nil {
		return "", nil, err
	}
	for _, d := range dicts {
		if e := memory.Fetch(d, key); e != nil {
			return d, e, nil
		}
	}
	return "", nil, nil
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	_, e, err := a.find(r.Context(), r.PathValue("cache_key"))
	switch {
	case err != nil:
		a.fail(w, err)
	case e == nil:
		notFound(w)
	default:
		writeJSON(w, http.StatusOK, e)
	}
}

func (a *api) purge(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("cache_key")
	d, e, err := a.find(r.Context(), key)
	switch {
	case err != nil:
		a.fail(w, err)
	case e == nil:
		notFound(w)
	default:
		memory.Purge(d, key)
		w.WriteHeader(http.StatusNoContent)
	}
}

// inPlugin returns the dictionary of the proxy-cache configuration the
// path names, or "" (and a 404 written) when there is none.
func (a *api) inPlugin(w http.ResponseWriter, r *http.Request) string {
	p, err := a.store.Get(r.Context(), "plugins", r.PathValue("plugin_id"))
	if store.IsNotFound(err) || (err == nil && p["name"] != Name) {
		notFound(w)
		return ""
	}
	if err != nil {
		a.fail(w, err)
		return ""
	}
	return dictionaryOf(p)
}

func (a *api) getIn(w http.ResponseWriter, r *http.Request) {
	d := a.inPlugin(w, r)
	if d == "" {
		return
	}
	if e := memory.Fetch(d, r.PathValue("cache_key")); e != nil {
		writeJSON(w, http.StatusOK, e)
		return
	}
	notFound(w)
}

func (a *api) purgeIn(w http.ResponseWriter, r *http.Request) {
	d := a.inPlugin(w, r)
	if d == "" {
		return
	}
	key := r.PathValue("cache_key")
	if memory.Fetch(d, key) == nil {
		notFound(w)
		return
	}
	memory.Purge(d, key)
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
}

func (a *api) fail(w http.ResponseWriter, err error) {
	a.log.Error("proxy-cache Admin API", "error", err)
	writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "An unexpected error occurred"})
}

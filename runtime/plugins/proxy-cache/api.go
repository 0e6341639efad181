package proxycache

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

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

// purgeChannel is Kong's cluster event for purges: other nodes sharing
// the database purge the same entries ("<plugin id>:<cache key>", the key
// "nil" for a flush).
const purgeChannel = "proxy-cache:purge"

func endpoints(env plugin.EndpointEnv) []plugin.Endpoint {
	a := &api{store: env.Store, log: env.Log}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.store != nil {
		// Endpoints are made once per node: follow the other nodes'
		// purges from here.
		a.store.Bus().OnMessage(purgeChannel, a.remotePurge)
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
// configuration, in the store's order, each once, and the ids of those
// configurations.
func (a *api) dictionariesInUse(ctx context.Context) (dicts, ids []string, err error) {
	seen := map[string]bool{}
	q := store.ListQuery{Size: store.MaxPageSize}
	for {
		page, err := a.store.List(ctx, "plugins", q)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range page.Data {
			if p["name"] != Name {
				continue
			}
			id, _ := p["id"].(string)
			ids = append(ids, id)
			if d := dictionaryOf(p); d != "" && !seen[d] {
				seen[d] = true
				dicts = append(dicts, d)
			}
		}
		if page.Offset == "" {
			return dicts, ids, nil
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
	dicts, ids, err := a.dictionariesInUse(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	for _, d := range dicts {
		memory.Flush(d)
	}
	for _, id := range ids {
		a.broadcast(r.Context(), id, "")
	}
	w.WriteHeader(http.StatusNoContent)
}

// broadcast tells the other nodes to purge key ("": everything) from the
// plugin's cache; a failure is logged, the local purge stands.
func (a *api) broadcast(ctx context.Context, pluginID, key string) {
	if key == "" {
		key = "nil"
	}
	if err := a.store.Broadcast(ctx, purgeChannel, pluginID+":"+key); err != nil {
		a.log.Error("failed broadcasting proxy cache purge to cluster", "error", err)
	}
}

// remotePurge handles another node's purge: the named plugin's
// dictionary loses the key (or everything).
func (a *api) remotePurge(data string) {
	pluginID, key, ok := strings.Cut(data, ":")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := a.store.Get(ctx, "plugins", pluginID)
	if err != nil || p["name"] != Name {
		a.log.Error("proxy-cache: purge for an unknown plugin", "plugin", pluginID, "error", err)
		return
	}
	d := dictionaryOf(p)
	if key == "nil" {
		memory.Flush(d)
	} else {
		memory.Purge(d, key)
	}
}

func (a *api) find(ctx context.Context, key string) (string, *Entry, error) {
	dicts, _, err := a.dictionariesInUse(ctx)
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
		// Kong tells the other nodes for every configuration using the
		// dictionary.
		_, ids, _ := a.dictionariesInUse(r.Context())
		for _, id := range ids {
			a.broadcast(r.Context(), id, key)
		}
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
	a.broadcast(r.Context(), r.PathValue("plugin_id"), key)
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

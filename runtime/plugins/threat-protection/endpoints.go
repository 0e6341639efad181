package threatprotection

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/threat"
)

// Paging of GET /threat-events, as Kong's Admin API pages.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// endpoints serve GET /threat-events on the Admin API.
func endpoints(plugin.EndpointEnv) []plugin.Endpoint {
	return []plugin.Endpoint{{Method: http.MethodGet, Path: "/threat-events", Admin: true, Resource: "threat-events",
		Handler: EventsHandler(threat.Events)}}
}

// EventsHandler serves ring's events, newest first, paged like Kong's
// Admin API: `size` (default 100, at most 1000) and `offset`, answering
// {"data": [...], "next": "/threat-events?offset=...&size=..." or null,
// "offset": "..."}.
func EventsHandler(ring *threat.Ring) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		size := defaultPageSize
		if s := q.Get("size"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > maxPageSize {
				writeJSON(w, http.StatusBadRequest, map[string]any{"message": "size must be an integer between 1 and 1000"})
				return
			}
			size = n
		}
		before, err := threat.ParseOffset(q.Get("offset"))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "invalid offset"})
			return
		}
		evs, next := ring.List(before, size)
		if evs == nil {
			evs = []threat.Event{}
		}
		out := map[string]any{"data": evs, "next": nil}
		if next != 0 {
			off := strconv.FormatUint(next, 10)
			out["offset"] = off
			out["next"] = "/threat-events?" + url.Values{"offset": {off}, "size": {strconv.Itoa(size)}}.Encode()
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

package hostabi

import (
	"strings"
	"time"
)

// LogRecord is what kong.log.serialize reports of a request, filled by the
// host; Map renders it as Kong's table, the same on every host.
type LogRecord struct {
	RequestID string
	// URI is the request's path and query as received; URL adds the
	// scheme, host and port.
	URI, URL       string
	Query          map[string][]string
	Method         string
	RequestHeaders map[string][]string
	RequestSize    int
	// UpstreamURI is the path and query sent upstream ("" when nothing
	// was proxied); UpstreamStatus the upstream's status ("" likewise).
	UpstreamURI    string
	UpstreamStatus string
	Status         int
	// ResponseHeaders are the response's, names lower-cased.
	ResponseHeaders map[string][]string
	ResponseSize    int
	// Latencies: Kong's own time, the upstream's (-1 when not proxied)
	// and the whole request's.
	KongLatency, ProxyLatency, RequestLatency time.Duration
	Route, Service, Consumer, Credential      Entity
	ClientIP                                  string
	StartedAt                                 time.Time
	// Source is Response.Source's answer.
	Source string
}

// SerializeValue is one kong.log.set_serialize_value call.
type SerializeValue struct {
	Key   string
	Value any
}

// Map renders the record as kong.log.serialize's table: request (id, uri,
// url, querystring, method, headers with authorization and
// proxy-authorization "REDACTED", size), upstream_uri, upstream_status,
// response (status, headers, size), latencies (kong, proxy, request, in
// milliseconds), authenticated_entity ({"id": credential id}), route,
// service, consumer, client_ip, started_at (milliseconds since the epoch)
// and source; then the values set with SetSerializeValue, in order (a dot
// in a key nests, "\." is a literal dot, a nil value removes the field).
func (r LogRecord) Map(values []SerializeValue) map[string]any {
	reqHeaders := make(map[string]any, len(r.RequestHeaders))
	for n, vs := range r.RequestHeaders {
		ln := strings.ToLower(n)
		switch {
		case ln == "authorization" || ln == "proxy-authorization":
			reqHeaders[ln] = "REDACTED"
		case len(vs) == 1:
			reqHeaders[ln] = vs[0]
		default:
			reqHeaders[ln] = anyStrings(vs)
		}
	}
	respHeaders := make(map[string]any, len(r.ResponseHeaders))
	for n, vs := range r.ResponseHeaders {
		if len(vs) == 1 {
			respHeaders[strings.ToLower(n)] = vs[0]
		} else {
			respHeaders[strings.ToLower(n)] = anyStrings(vs)
		}
	}
	query := make(map[string]any, len(r.Query))
	for n, vs := range r.Query {
		if len(vs) == 1 {
			query[n] = vs[0]
		} else {
			query[n] = anyStrings(vs)
		}
	}
	root := map[string]any{
		"request": map[string]any{"id": r.RequestID, "uri": r.URI, "url": r.URL, "querystring": query,
			"method": r.Method, "headers": reqHeaders, "size": r.RequestSize},
		"upstream_uri":    r.UpstreamURI,
		"upstream_status": r.UpstreamStatus,
		"response":        map[string]any{"status": r.Status, "headers": respHeaders, "size": r.ResponseSize},
		"latencies": map[string]any{"kong": r.KongLatency.Milliseconds(), "proxy": r.ProxyLatency.Milliseconds(),
			"request": r.RequestLatency.Milliseconds()},
		"client_ip":  r.ClientIP,
		"started_at": r.StartedAt.UnixMilli(),
		"source":     r.Source,
	}
	if r.ProxyLatency < 0 {
		root["latencies"].(map[string]any)["proxy"] = int64(-1)
	}
	if r.Credential != nil {
		root["authenticated_entity"] = map[string]any{"id": r.Credential["id"]}
	}
	for k, e := range map[string]Entity{"route": r.Route, "service": r.Service, "consumer": r.Consumer} {
		if e != nil {
			root[k] = e
		}
	}
	for _, v := range values {
		setPath(root, splitKey(v.Key), v.Value)
	}
	return root
}

func anyStrings(vs []string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// splitKey splits a serialize key at unescaped dots.
func splitKey(key string) []string {
	var parts []string
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		switch {
		case key[i] == '\\' && i+1 < len(key) && key[i+1] == '.':
			b.WriteByte('.')
			i++
		case key[i] == '.':
			parts = append(parts, b.String())
			b.Reset()
		default:
			b.WriteByte(key[i])
		}
	}
	return append(parts, b.String())
}

// setPath sets (or, for nil, removes) a nested field, making the records
// on the way; a non-record on the way is replaced by one.
func setPath(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			if v == nil {
				return
			}
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	last := path[len(path)-1]
	if v == nil {
		delete(m, last)
		return
	}
	m[last] = v
}

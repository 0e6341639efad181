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
	// ReceiveLatency is the time spent receiving the upstream's response
	// (from its headers to the last byte handed to the client); 0 when
	// nothing was proxied.
	ReceiveLatency time.Duration
	// TLS describes the client's TLS connection; nil over plain HTTP.
	TLS *LogTLS
	// Tries are the upstream attempts, in order (Kong's balancer tries).
	Tries []LogTry
	// WorkspaceName is the request's workspace ("default").
	WorkspaceName string
}

// LogTLS is request.tls of the log record.
type LogTLS struct {
	// Version is "TLSv1.2", "TLSv1.3"...; Cipher the suite's name;
	// ClientVerify nginx's $ssl_client_verify: "NONE", "SUCCESS" or
	// "FAILED:<reason>".
	Version, Cipher, ClientVerify string
}

// LogTry is one upstream attempt (an entry of the record's tries).
type LogTry struct {
	// BalancerStart is when the attempt's peer was picked;
	// BalancerLatency how long picking took.
	BalancerStart   time.Time
	BalancerLatency time.Duration
	IP              string
	Port            int
	// State and Code tell why an attempt that was followed by another
	// failed ("failed", 502 or 504); empty for the last one.
	State string
	Code  int
}

// SerializeMode is the mode option of kong.log.set_serialize_value.
type SerializeMode string

// The modes: set always sets (the default, also for ""), add only sets
// a field that does not exist, replace only one that does.
const (
	SerializeSet     SerializeMode = "set"
	SerializeAdd     SerializeMode = "add"
	SerializeReplace SerializeMode = "replace"
)

// Valid reports whether m is a mode kong.log.set_serialize_value accepts
// ("" counts as set).
func (m SerializeMode) Valid() bool {
	return m == "" || m == SerializeSet || m == SerializeAdd || m == SerializeReplace
}

// SerializeValue is one kong.log.set_serialize_value call.
type SerializeValue struct {
	Key   string
	Value any
	// Mode is the call's options.mode ("": set).
	Mode SerializeMode
}

// Map renders the record as kong.log.serialize's table: request (id, uri,
// url, querystring, method, headers with authorization and
// proxy-authorization "REDACTED", size), upstream_uri, upstream_status,
// response (status, headers, size), latencies (kong, proxy, request, in
// milliseconds, and receive), tries, authenticated_entity ({"id":
// credential id}), route, service, consumer, client_ip, started_at
// (milliseconds since the epoch), source, workspace_name and request.tls
// over TLS; then the values set with SetSerializeValue, in order (a dot in
// a key nests, "\." is a literal dot, a nil value removes the field; add
// sets only a missing field, replace only an existing one).
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
	request := map[string]any{"id": r.RequestID, "uri": r.URI, "url": r.URL, "querystring": query,
		"method": r.Method, "headers": reqHeaders, "size": r.RequestSize}
	if r.TLS != nil {
		request["tls"] = map[string]any{"version": r.TLS.Version, "cipher": r.TLS.Cipher, "client_verify": r.TLS.ClientVerify}
	}
	root := map[string]any{
		"request":         request,
		"upstream_uri":    r.UpstreamURI,
		"upstream_status": r.UpstreamStatus,
		"response":        map[string]any{"status": r.Status, "headers": respHeaders, "size": r.ResponseSize},
		"latencies": map[string]any{"kong": r.KongLatency.Milliseconds(), "proxy": r.ProxyLatency.Milliseconds(),
			"request": r.RequestLatency.Milliseconds(), "receive": r.ReceiveLatency.Milliseconds()},
		"client_ip":  r.ClientIP,
		"started_at": r.StartedAt.UnixMilli(),
		"source":     r.Source,
	}
	if r.ProxyLatency < 0 {
		root["latencies"].(map[string]any)["proxy"] = int64(-1)
	}
	if len(r.Tries) > 0 {
		tries := make([]any, len(r.Tries))
		for i, t := range r.Tries {
			try := map[string]any{"balancer_start": t.BalancerStart.UnixMilli(), "balancer_start_ns": t.BalancerStart.UnixNano(),
				"balancer_latency": t.BalancerLatency.Milliseconds(), "balancer_latency_ns": t.BalancerLatency.Nanoseconds(),
				"ip": t.IP, "port": t.Port}
			if t.State != "" {
				try["state"], try["code"] = t.State, t.Code
			}
			tries[i] = try
		}
		root["tries"] = tries
	}
	if r.WorkspaceName != "" {
		root["workspace_name"] = r.WorkspaceName
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
		setPath(root, splitKey(v.Key), v.Value, v.Mode)
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

// setPath sets (or, for nil, removes) a nested field as the mode says,
// making the records on the way (set and add; replace stops at a missing
// one); a non-record on the way is replaced by one.
func setPath(m map[string]any, path []string, v any, mode SerializeMode) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			if v == nil || mode == SerializeReplace {
				return
			}
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	last := path[len(path)-1]
	_, exists := m[last]
	switch {
	case mode == SerializeAdd && exists, mode == SerializeReplace && !exists:
		return
	case v == nil:
		delete(m, last)
	default:
		m[last] = v
	}
}

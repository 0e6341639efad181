package plugin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/entitydb"
	"github.com/gatehouse/gatehouse/runtime/internal/endpointdecline"
)

// servedEndpoints are the Admin API endpoints a provider's plugin declares
// (hostabi.Definition.Endpoints, Kong's api.lua) with the factory that
// answers them (hostabi.EndpointServer).
type servedEndpoints struct {
	defs  []hostabi.EndpointDefinition
	serve func(ctx context.Context, host hostabi.EndpointHost, req hostabi.EndpointRequest) (hostabi.EndpointResponse, error)
}

// unexpected is Kong's body for an Admin API call that failed inside.
var unexpected = []byte(`{"message":"An unexpected error occurred"}`)

// providedEndpoints builds the Admin API endpoints of a provider's plugin.
// current returns the definition that serves the calls now: a plugin
// reload replaces the definition, and calls go to the new one (the paths
// stay those the node started with: new paths take a restart).
func providedEndpoints(env EndpointEnv, name string, defs []hostabi.EndpointDefinition, current func() *servedEndpoints) []Endpoint {
	log := env.Log
	if log == nil {
		log = slog.Default()
	}
	host := hostabi.EndpointHost{Log: endpointLog{log: log.With("plugin", name)}, Node: endpointNode{env.Node}}
	if env.Store != nil {
		host.DB = entitydb.New(env.Store)
	}
	var out []Endpoint
	for _, ed := range defs {
		method, path := strings.ToUpper(ed.Method), ed.Path
		params := pathParams(path)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req := hostabi.EndpointRequest{Method: r.Method, Path: path, URI: r.URL.Path, RawQuery: r.URL.RawQuery,
				Params: map[string]string{}, Headers: map[string][]string{}}
			for _, p := range params {
				v := r.PathValue(p)
				if u, err := url.PathUnescape(v); err == nil {
					v = u
				}
				req.Params[p] = v
			}
			for k, vs := range r.Header {
				lk := strings.ToLower(k)
				req.Headers[lk] = append(req.Headers[lk], vs...)
			}
			if r.Body != nil {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					log.Error("plugin endpoint: reading the body", "plugin", name, "path", path, "error", err)
					writeUnexpected(w)
					return
				}
				req.Body = body
			}
			res, err := callServer(r.Context(), current(), host, req)
			if err != nil {
				log.Error("plugin endpoint failed", "plugin", name, "method", r.Method, "path", path, "error", err)
				writeUnexpected(w)
				return
			}
			if res.Pass {
				if !endpointdecline.Decline(r) {
					w.Header().Set("Content-Type", "application/json; charset=utf-8")
					w.WriteHeader(http.StatusNotFound)
					w.Write([]byte(`{"message":"Not found"}`))
				}
				return
			}
			writeResponse(w, r, res)
		})
		out = append(out, Endpoint{Method: method, Path: path, Admin: true, Resource: name, Handler: h})
	}
	return out
}

// callServer runs the plugin's ServeEndpoint; a panic is an error.
func callServer(ctx context.Context, s *servedEndpoints, host hostabi.EndpointHost, req hostabi.EndpointRequest) (res hostabi.EndpointResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	if s == nil || s.serve == nil {
		return res, fmt.Errorf("the plugin serves no endpoints any more")
	}
	res, err = s.serve(ctx, host, req)
	if err == nil && !res.Pass && (res.Status < 100 || res.Status > 999) {
		err = fmt.Errorf("the plugin answered with status %d", res.Status)
	}
	return res, err
}

func writeUnexpected(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(unexpected)
}

func writeResponse(w http.ResponseWriter, r *http.Request, res hostabi.EndpointResponse) {
	h := w.Header()
	for k, vs := range res.Headers {
		if strings.EqualFold(k, "content-length") || strings.EqualFold(k, "transfer-encoding") {
			continue
		}
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if len(res.Body) > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(res.Status)
	if r.Method != http.MethodHead {
		w.Write(res.Body)
	}
}

// pathParams returns the names of a Kong route's ":name" segments.
func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, ":") && len(seg) > 1 {
			out = append(out, seg[1:])
		}
	}
	return out
}

// endpointNode is kong.node for endpoint calls.
type endpointNode struct{ h Host }

func (n endpointNode) ID() string {
	if n.h == nil {
		return ""
	}
	return n.h.Stats().NodeID
}

func (n endpointNode) Hostname() string {
	if n.h == nil {
		return ""
	}
	return n.h.Stats().Hostname
}

// endpointLog is kong.log for endpoint calls: the node's log with the
// plugin's name; there is no request to serialize.
type endpointLog struct{ log *slog.Logger }

func (l endpointLog) line(level slog.Level, msg string, kv []any) {
	l.log.Log(context.Background(), level, msg, kv...)
}

func (l endpointLog) Debug(msg string, kv ...any)  { l.line(slog.LevelDebug, msg, kv) }
func (l endpointLog) Info(msg string, kv ...any)   { l.line(slog.LevelInfo, msg, kv) }
func (l endpointLog) Notice(msg string, kv ...any) { l.line(slog.LevelInfo+1, msg, kv) }
func (l endpointLog) Warn(msg string, kv ...any)   { l.line(slog.LevelWarn, msg, kv) }
func (l endpointLog) Err(msg string, kv ...any)    { l.line(slog.LevelError, msg, kv) }
func (l endpointLog) Crit(msg string, kv ...any)   { l.line(slog.LevelError+1, msg, kv) }

// Serialize implements hostabi.Log: an endpoint call has no request
// record.
func (endpointLog) Serialize() map[string]any { return map[string]any{} }

// SetSerializeValue implements hostabi.Log: without a request record
// there is nothing to set.
func (endpointLog) SetSerializeValue(string, any) {}

// SetSerializeValueMode implements hostabi.Log.
func (endpointLog) SetSerializeValueMode(_ string, _ any, mode hostabi.SerializeMode) error {
	if !mode.Valid() {
		return fmt.Errorf("invalid mode %q", mode)
	}
	return nil
}

var _ hostabi.Log = endpointLog{}

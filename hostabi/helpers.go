package hostabi

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// JSONExit ends the request with v encoded as JSON (what kong.response.exit
// does with a Lua table): Content-Type is application/json unless headers
// set one. A value that cannot be encoded sends Kong's 500 body instead.
func JSONExit(r Response, status int, v any, headers map[string]string) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`{"message":"An unexpected error occurred"}`)
	}
	h := make(map[string]string, len(headers)+1)
	typed := false
	for k, val := range headers {
		h[k] = val
		if strings.EqualFold(k, "Content-Type") {
			typed = true
		}
	}
	if !typed {
		h["Content-Type"] = "application/json; charset=utf-8"
	}
	r.Exit(status, b, h)
}

// GetOrLoad returns the cached value of key, or loads it with load, once
// for all concurrent callers, and caches the result for ttl (a nil result
// as a miss). A load error is returned to every waiting caller and
// nothing is cached. It is the Go convenience over Cache.Lookup, Fill and
// Abandon; a panic in load abandons the key and goes on.
func GetOrLoad(ctx context.Context, c Cache, key string, ttl time.Duration, load func() (any, error)) (any, error) {
	v, found, mustLoad, err := c.Lookup(ctx, key)
	if err != nil || found || !mustLoad {
		return v, err
	}
	done := false
	defer func() {
		if !done {
			c.Abandon(key, errLoadPanicked)
		}
	}()
	v, err = load()
	done = true
	if err != nil {
		c.Abandon(key, err)
		return nil, err
	}
	c.Fill(key, v, ttl)
	return v, nil
}

var errLoadPanicked = errors.New("hostabi: cache load panicked")

// errorMessages are Kong's default messages of kong.response.error.
var errorMessages = map[int]string{
	400: "Bad request", 401: "Unauthorized", 402: "Payment required", 403: "Forbidden",
	404: "Not found", 405: "Method not allowed", 406: "Not acceptable",
	407: "Proxy authentication required", 408: "Request timeout", 409: "Conflict",
	410: "Gone", 411: "Length required", 412: "Precondition failed", 413: "Payload too large",
	414: "URI too long", 415: "Unsupported media type", 416: "Range not satisfiable",
	417: "Expectation failed", 418: "I'm a teapot", 421: "Misdirected request",
	422: "Unprocessable entity", 423: "Locked", 424: "Failed dependency", 425: "Too early",
	426: "Upgrade required", 428: "Precondition required", 429: "Too many requests",
	431: "Request header fields too large", 451: "Unavailable for legal reasons",
	494: "Request header or cookie too large", 500: "An unexpected error occurred",
	501: "Not implemented", 502: "An invalid response was received from the upstream server",
	503: "The upstream server is currently unavailable", 504: "The upstream server is timing out",
	505: "HTTP version not supported", 506: "Variant also negotiates", 507: "Insufficient storage",
	508: "Loop detected", 510: "Not extended", 511: "Network authentication required",
}

// ErrorMessage is Kong's default message of kong.response.error for a
// status.
func ErrorMessage(status int) string {
	if m, ok := errorMessages[status]; ok {
		return m
	}
	return "The upstream server responded with " + strconv.Itoa(status)
}

// ErrorBody renders Kong's error body for message in the format the
// Accept header asks for (JSON by default) and returns the Content-Type
// and the body. Every host answers errors, its own and
// kong.response.error's, with it.
func ErrorBody(accept, message, requestID string) (contentType, body string) {
	switch {
	case strings.Contains(accept, "text/html"):
		return "text/html; charset=utf-8", "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>" + message + ".</p>\n    <p>request_id: " + requestID + "</p>\n  </body>\n</html>\n"
	case strings.Contains(accept, "application/xml"):
		return "application/xml; charset=utf-8", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>" + message + "</message>\n  <requestid>" + requestID + "</requestid>\n</error>\n"
	case strings.Contains(accept, "text/plain"):
		return "text/plain; charset=utf-8", message + "\nrequest_id: " + requestID + "\n"
	}
	m, _ := json.Marshal(message)
	return "application/json; charset=utf-8", `{"message":` + string(m) + `,"request_id":"` + requestID + `"}`
}

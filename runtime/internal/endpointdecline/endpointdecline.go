// Package endpointdecline lets a plugin's Admin API endpoint hand a call
// back to the Admin API's own route for the path (Kong's parent route of
// a customized one). The Admin API marks each plugin endpoint call's
// context (Mark); the plugin runtime, which the proxy imports and which
// must not import the Admin API, declines through the request (Decline).
package endpointdecline

import (
	"context"
	"net/http"
)

type key struct{}

// Mark returns a context for one plugin endpoint call and the flag that
// Decline sets in it.
func Mark(ctx context.Context) (context.Context, *bool) {
	declined := new(bool)
	return context.WithValue(ctx, key{}, declined), declined
}

// Decline, called by a plugin endpoint's handler instead of answering (it
// must write nothing), makes the Admin API's own route for the path answer
// the call. It reports false when the request's context was not marked
// (the call did not come through the Admin API's plugin routing), and then
// changes nothing.
func Decline(r *http.Request) bool {
	p, ok := r.Context().Value(key{}).(*bool)
	if ok {
		*p = true
	}
	return ok
}

package sdk

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
)

// Convert returns v as a T: v itself when it is one, else v re-read
// through JSON (a float64 read back from the cache into an int, a
// map[string]any into a struct). It is how values that crossed the Wasm
// boundary as JSON come back typed.
func Convert[T any](v any) (T, error) {
	if t, ok := v.(T); ok {
		return t, nil
	}
	var t T
	b, err := json.Marshal(v)
	if err != nil {
		return t, fmt.Errorf("sdk: convert %T: %w", v, err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("sdk: convert %T to %T: %w", v, t, err)
	}
	return t, nil
}

// CacheGet reads a cached value as a T; found is false on a miss (or a
// value that is not a T).
func CacheGet[T any](k Kong, key string) (v T, found bool) {
	raw, ok := k.Cache().Get(key)
	if !ok {
		return v, false
	}
	v, err := Convert[T](raw)
	return v, err == nil
}

// CtxGet reads a value of kong.ctx.shared as a T; found is false when the
// key is absent (or not a T).
func CtxGet[T any](k Kong, key string) (v T, found bool) {
	raw, ok := k.Ctx().Shared().Get(key)
	if !ok {
		return v, false
	}
	v, err := Convert[T](raw)
	return v, err == nil
}

// GetOrLoad returns the cached value of key as a T, or loads it with load,
// once for all the node's concurrent callers (Kong's cache:get with a
// callback, over the host's lookup/fill/abandon), and caches it for ttl (0:
// no expiry). A load error is returned to every waiting caller and nothing
// is cached.
func GetOrLoad[T any](k Kong, key string, ttl time.Duration, load func() (T, error)) (T, error) {
	v, err := hostabi.GetOrLoad(k.Context(), k.Cache(), key, ttl, func() (any, error) { return load() })
	if err != nil {
		var zero T
		return zero, err
	}
	return Convert[T](v)
}

// JSONExit ends the request with v encoded as JSON, as kong.response.exit
// does with a Lua table: Content-Type is application/json unless headers
// set one. The handler returns nil right after.
func JSONExit(k Kong, status int, v any, headers map[string]string) {
	hostabi.JSONExit(k.Response(), status, v, headers)
}

// Package sdk is the Gatehouse plugin SDK for Go: a plugin author writes an
// ordinary `package main`, registers a Plugin with a typed configuration
// struct, and builds it with the standard toolchain into a Wasm module the
// gateway loads from wasm_plugins_dir:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o my-plugin.wasm .
//
// A plugin:
//
//	package main
//
//	import "github.com/gatehouse/gatehouse/sdk"
//
//	type Config struct {
//		Header string `json:"header" default:"x-hello"`
//		Value  string `json:"value" required:"true"`
//	}
//
//	func init() {
//		sdk.Register(sdk.Plugin[Config]{
//			Version:  "1.0.0",
//			Priority: 1000,
//			Access: func(k sdk.Kong, c *Config) error {
//				k.ServiceRequest().SetHeader(c.Header, c.Value)
//				return nil
//			},
//		})
//	}
//
//	func main() {}
//
// The SDK does the rest: it generates the plugin's Kong configuration
// schema from the struct (SchemaOf: json tags name the fields, tags give
// defaults, required fields, one_of, between, lengths and patterns; nested
// structs are records, slices arrays, maps maps), answers the host's
// describe call with it, decodes and validates each configuration into a
// *Config (refusals reach the Admin API as the plugin's config error), and
// exports every phase function of the Gatehouse Wasm ABI (hostabi/ABI.md,
// "The Wasm mapping"), calling the handlers the plugin set.
//
// Handlers get a Kong: the same interface native Go plugins get
// (hostabi.Kong), with every facet of Kong's PDK — Request,
// ServiceRequest, Service, Response, ServiceResponse, Client, Ctx, Log,
// Cache, Node, Router, IP, Plugin, TLS, HTTP, Timers, Credentials, DB. In a
// Wasm build each call crosses to the host through the `gatehouse` import
// module (fast imports for headers, method, path, bodies, exits, ctx and
// cache; the generic `call` import for the rest); the SDK owns the memory,
// strings, headers and JSON of each crossing. Typed helpers sit on top:
// GetOrLoad (the cache's load-once), CacheGet, CtxGet, JSONExit.
//
// Values that cross the boundary are JSON: a number read back from the
// cache or the shared context is a float64 in a Wasm build (CacheGet and
// CtxGet convert to the type you ask for), entities are Kong's JSON
// objects.
//
// The same package builds natively (any GOOS other than wasip1), where a
// Plugin is served over a hostabi.Kong given by the caller: Plugin.Provide
// turns it into a native hostabi.ProvidedPlugin, so sdk/plugintest (and
// the examples of this package) run plugin code in a normal `go test`,
// and `go vet ./...` and godoc see the package. sdk/plugintest/load runs
// the compiled module itself through the Wasm host.
//
// Faults: a handler's error, a panic in a handler, and a host trap (an
// operation outside its phases, a bad argument) end the request with a
// 500, never a half-processed proxied request.
package sdk

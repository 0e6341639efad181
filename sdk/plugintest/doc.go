// Package plugintest runs Gatehouse plugins without a gateway: it implements
// hostabi.Kong over an in-memory request, records everything a plugin does
// (upstream request changes, Response.Exit, response headers,
// Client.Authenticate, kong.log) and backs the node services plugins use
// (consumers, credentials, the cache) with maps.
//
// The usual test builds a configuration through the plugin's schema, creates
// an instance, and runs a phase:
//
//	inst := plugintest.New(t, keyauth.Schema(), keyauth.New, map[string]any{"hide_credentials": true})
//	env := plugintest.NewEnv()
//	alice := env.AddConsumer(hostabi.Entity{"username": "alice"})
//	env.AddCredential(keyauth.CredentialEntity, alice, hostabi.Entity{"key": "secret"})
//	res := env.Run(t, inst, hostabi.PhaseAccess,
//		plugintest.NewRequest("GET", "/").WithHeader("apikey", "secret"))
//	// res.Exited, res.UpstreamHeader("X-Consumer-Username"), res.Consumer ...
//
// An Env plays the node: it outlives requests, so a cache entry or a
// plugin's own state (rate-limiting counters) carries over between Run
// calls. Run with a fresh Env is plugintest.Run.
//
// Phases run through the gateway's own chain (chain.Call), so a plugin
// meets the node's rules: the phase table is checked (an operation called
// outside its phases fails the plugin with *hostabi.PhaseError), errors
// and panics become the same faults, kong.plugin and kong.log name the
// instance (Request.PluginID, Request.PluginName), and Kong.Context has
// the node's deadline. A Kong driven directly, outside Call and Run, is not
// phase-checked. Env.RunChain runs a request through several plugins with
// the node's chain itself: priorities, Kong's scoping with the consumer
// known at each plugin's turn, exits and faults. conformance/abi runs the ABI's probes on this harness and
// on the proxy and expects the same results.
//
// The fake follows the node's behaviour where the ABI leaves room: Request
// reads the request as the client sent it (changes made through
// ServiceRequest are visible only in the Result), header names are
// case-insensitive, Client.LoadConsumer finds consumers by id or, when
// asked, by username, and Response.Error renders Kong's error bodies.
//
// For benchmarks, reuse one Kong: Env.NewKong once, then Kong.Reset and
// Call per iteration; the harness then allocates nothing of its own beyond
// what the plugin's calls record.
package plugintest

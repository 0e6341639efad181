// Package luahost is Gatehouse's host for Kong plugins written in Lua,
// on gopher-lua. It loads plugin folders as Kong and luarocks lay them out
// (kong/plugins/NAME/*.lua, a *.rockspec whose build.modules maps module
// names to files), runs handlers of every Kong generation (modern handler
// tables and the 0.x–2.x BasePlugin classes) through the hostabi phase
// interfaces, converts their schemas (package luaschema) and offers them
// to the node as a hostabi.Provider.
//
// Each plugin has a pool of Lua states. A state is created with the
// plugin's modules loaded once (compiled once per file, then instantiated
// from the cached *lua.FunctionProto) and the Install hook applied once;
// a request call checks a state out, binds it to the request through the
// Binder, runs the phase method under a deadline (Options.Timeout bounded
// by the request's context) and returns the state. A Lua error, a timeout
// or a Go panic fails the call with a *CallError naming plugin, phase and
// the Lua traceback (the chain answers 500); after a timeout or a panic
// the state is discarded.
//
// The kong global, ngx.* and the libraries plugins require (cjson,
// resty.*) are not this package's: the Install hook puts them into each
// state, and the Binder it returns points them at the request of each
// call. README.md describes loading, layouts, settings and limits.
package luahost

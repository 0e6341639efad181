// Command badsig exports handle_request with the wrong result type
// (i32 instead of i64): the host must refuse to load it.
package main

//go:wasmexport handle_request
func handleRequest() int32 { return 1 }

//go:wasmexport handle_response
func handleResponse(reqCtx, isError int32) {}

func main() {}

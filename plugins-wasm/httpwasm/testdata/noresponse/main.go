// Command noresponse exports handle_request but not handle_response: the
// host must refuse to load it.
package main

//go:wasmexport handle_request
func handleRequest() int64 { return 1 }

func main() {}

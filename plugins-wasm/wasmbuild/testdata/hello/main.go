// Command hello is the smallest guest: one export returning a constant.
package main

//go:wasmexport answer
func answer() int32 { return 42 }

func main() {}

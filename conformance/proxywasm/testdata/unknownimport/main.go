// Command unknownimport is a proxy-wasm filter importing a function the
// ABI does not define: loading it must fail, naming the import.
package main

//go:wasmimport env proxy_does_not_exist
func missing() uint32

//go:wasmexport proxy_abi_version_0_2_1
func abiVersion() {}

//go:wasmexport proxy_on_memory_allocate
func allocate(n uint32) uint32 { return missing() }

func main() {}

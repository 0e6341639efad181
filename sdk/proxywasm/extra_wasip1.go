//go:build wasip1

package proxywasm

//go:wasmimport env proxy_get_status
func proxyGetStatus(codep, mp, ms uint32) uint32

//go:wasmimport env proxy_call_foreign_function
func proxyCallForeignFunction(np, ns, ap, as, rp, rs uint32) uint32

// ForeignCallData is the buffer type of a foreign function callback's
// arguments (proxy_on_foreign_function; BufferType 8, CallData).
const ForeignCallData BufferType = 8

// CallStatus returns the status code and message of the call being
// answered (proxy_get_status).
func CallStatus() (code uint32, message string, st Status) {
	st = Status(proxyGetStatus(slot(2), slot(0), slot(1)))
	if st != StatusOK {
		return 0, "", st
	}
	code = slots[2]
	return code, string(result()), st
}

// CallForeignFunction calls a host's foreign function by name with args
// (proxy_call_foreign_function); no bytes back with StatusOK means the
// answer comes later to proxy_on_foreign_function.
func CallForeignFunction(name string, args []byte) ([]byte, Status) {
	defer keep(name, args)
	st := Status(proxyCallForeignFunction(sptr(name), uint32(len(name)), bptr(args), uint32(len(args)), slot(0), slot(1)))
	if st != StatusOK {
		return nil, st
	}
	return result(), st
}

//go:build wasip1

package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/hostabi"
)

// The exports of a Gatehouse Wasm guest (hostabi.WasmExport*). Every one
// is present; describe lists the phases the plugin uses, and the host
// calls only those.

var errNoPlugin = errors.New("sdk: no plugin registered (call sdk.Register from an init function of package main)")

// status turns an export's error into its return: 0, or 1 after fail.
func status(err error) int32 {
	if err == nil {
		return 0
	}
	fail(err.Error())
	return 1
}

//go:wasmexport gatehouse_abi_version
func exportABIVersion() int64 { return abiVersion() }

//go:wasmexport describe
func exportDescribe() int32 {
	if current == nil {
		return status(errNoPlugin)
	}
	b, err := current.describe()
	if err != nil {
		return status(err)
	}
	p, l := bts(b)
	hSetResult(p, l)
	return 0
}

//go:wasmexport configure
func exportConfigure() int32 {
	if current == nil {
		return status(errNoPlugin)
	}
	cfg, _ := pullSame(hGetConfig)
	return status(guard("configure", func() error { return current.configure(cfg) }))
}

func runPhase(ph Phase) int32 {
	if current == nil {
		return status(errNoPlugin)
	}
	phase = ph
	err := current.run(ph, theKong) // recovers the handler's panics
	phase = 0
	return status(err)
}

//go:wasmexport rewrite
func exportRewrite() int32 { return runPhase(hostabi.PhaseRewrite) }

//go:wasmexport access
func exportAccess() int32 { return runPhase(hostabi.PhaseAccess) }

//go:wasmexport response
func exportResponse() int32 { return runPhase(hostabi.PhaseResponse) }

//go:wasmexport header_filter
func exportHeaderFilter() int32 { return runPhase(hostabi.PhaseHeaderFilter) }

//go:wasmexport log
func exportLog() int32 { return runPhase(hostabi.PhaseLog) }

//go:wasmexport body_filter
func exportBodyFilter(eof int32) int32 {
	if current == nil {
		return status(errNoPlugin)
	}
	phase = hostabi.PhaseBodyFilter
	defer func() { phase = 0 }()
	chunk, _ := pullSame(hBodyChunk)
	out, err := current.bodyFilter(theKong, chunk, eof != 0)
	if err != nil {
		return status(err)
	}
	if !bytes.Equal(out, chunk) {
		p, l := bts(out)
		hSetBodyChunk(p, l)
	}
	return 0
}

//go:wasmexport timer
func exportTimer(id int64) int32 {
	p, ok := pendingTimers[id]
	if !ok {
		return status(fmt.Errorf("timer %d is unknown to this instance (registered elsewhere, or expired)", id))
	}
	delete(pendingTimers, id)
	return status(guard("timer", func() error {
		p.fn(context.Background(), httpClient{})
		return nil
	}))
}

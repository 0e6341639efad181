package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse/hostabi"
)

// encodeArgs renders the arguments of a generic call as the ABI's JSON
// array ("" for none).
func encodeArgs(args []any) ([]byte, error) {
	if len(args) == 0 {
		return nil, nil
	}
	return json.Marshal(args)
}

// decodeResult reads a generic call's result into out, one pointer per
// result of the Go method: a JSON array of the results, or the error
// object (a *hostabi.DBError when it carries Kong's code or name).
func decodeResult(op string, raw []byte, out ...any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var e hostabi.WasmCallError
		if err := json.Unmarshal(raw, &e); err != nil {
			return &ProtocolError{Op: op, Err: fmt.Errorf("malformed error result: %w", err)}
		}
		if e.Error.Code != 0 || e.Error.Name != "" || e.Error.Fields != nil {
			return &hostabi.DBError{Code: e.Error.Code, Name: e.Error.Name, Message: e.Error.Message, Fields: e.Error.Fields}
		}
		return &CallError{Op: op, Message: e.Error.Message}
	}
	var results []json.RawMessage
	if err := json.Unmarshal(raw, &results); err != nil {
		return &ProtocolError{Op: op, Err: err}
	}
	if len(results) < len(out) {
		return &ProtocolError{Op: op, Err: fmt.Errorf("%d results, want %d", len(results), len(out))}
	}
	for i, o := range out {
		if err := json.Unmarshal(results[i], o); err != nil {
			return &ProtocolError{Op: op, Err: fmt.Errorf("result %d: %w", i+1, err)}
		}
	}
	return nil
}

// CallError is an error an operation of the host returned (a consumer
// lookup that failed, an unknown upstream...), with the host's message.
type CallError struct {
	Op      string
	Message string
}

func (e *CallError) Error() string { return e.Message }

// ProtocolError is a host answer the SDK could not read: a host and SDK
// that disagree on the ABI. Operations without an error result panic with
// it, which fails the phase.
type ProtocolError struct {
	Op  string
	Err error
}

func (e *ProtocolError) Error() string {
	return "sdk: " + e.Op + ": unreadable host result: " + e.Err.Error()
}

func (e *ProtocolError) Unwrap() error { return e.Err }

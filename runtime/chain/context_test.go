package chain_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/chain"
)

func TestContextDeadline(t *testing.T) {
	d := time.Now().Add(30 * time.Millisecond)
	c := chain.NewContext(d)
	if got, ok := c.Deadline(); !ok || !got.Equal(d) || c.Err() != nil || c.Value("x") != nil {
		t.Fatalf("fresh context: %v %v %v", got, ok, c.Err())
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done never closed at the deadline")
	}
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v", c.Err())
	}
	c.End() // ending after expiry keeps DeadlineExceeded
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err after End = %v", c.Err())
	}
}

func TestContextEnd(t *testing.T) {
	c := chain.NewContext(time.Now().Add(time.Hour))
	child, cancel := context.WithTimeout(c, time.Hour)
	defer cancel()
	c.End()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a derived context did not end with the request")
	}
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err = %v", c.Err())
	}
	// A context past its deadline reports it even if nobody waited.
	past := chain.NewContext(time.Now().Add(-time.Second))
	if !errors.Is(past.Err(), context.DeadlineExceeded) {
		t.Fatalf("past deadline: %v", past.Err())
	}
	<-past.Done()
}

type phaseViolator struct{}

func (phaseViolator) Access(hostabi.Kong) error {
	hostabi.Check(hostabi.OpResponseStatus, hostabi.PhaseAccess)
	return nil
}

type panicker struct{}

func (panicker) Access(hostabi.Kong) error { panic("boom") }

// TestCallFaults: an out-of-phase call is the plugin's failure with the
// typed error; a panic keeps its value; a missing phase is refused.
func TestCallFaults(t *testing.T) {
	f := chain.Call(inst("1", "v", 1, "", "", "", phaseViolator{}), hostabi.PhaseAccess, nil)
	var pe *hostabi.PhaseError
	if f == nil || !errors.As(f, &pe) || pe.Op != hostabi.OpResponseStatus || f.Panic != nil {
		t.Fatalf("fault %+v", f)
	}
	f = chain.Call(inst("2", "p", 1, "", "", "", panicker{}), hostabi.PhaseAccess, nil)
	if f == nil || f.Panic != "boom" || len(f.Stack) == 0 {
		t.Fatalf("panic fault %+v", f)
	}
	if f := chain.Call(inst("3", "p", 1, "", "", "", panicker{}), hostabi.PhaseLog, nil); f == nil {
		t.Fatal("a missing phase ran")
	}
	if _, f := chain.CallBodyFilter(inst("4", "p", 1, "", "", "", panicker{}), nil, nil, true); f == nil {
		t.Fatal("a missing body filter ran")
	}
}

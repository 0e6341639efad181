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

// TestContextsHandOutOnce: every context Contexts hands out is a fresh
// one, across blocks, with its own deadline; ending one leaves the others
// alive, and one kept after its request ended keeps answering for that
// request.
func TestContextsHandOutOnce(t *testing.T) {
	var a chain.Contexts
	base := time.Now().Add(time.Hour)
	seen := map[*chain.Context]bool{}
	var all []*chain.Context
	for i := 0; i < 200; i++ { // over three blocks
		c := a.New(base.Add(time.Duration(i) * time.Second))
		if seen[c] {
			t.Fatalf("context %d handed out twice", i)
		}
		seen[c] = true
		all = append(all, c)
		if i%2 == 0 {
			c.End()
		}
	}
	for i, c := range all {
		if d, _ := c.Deadline(); !d.Equal(base.Add(time.Duration(i) * time.Second)) {
			t.Errorf("context %d: deadline %v", i, d)
		}
		want := error(nil)
		if i%2 == 0 {
			want = context.Canceled
		}
		if !errors.Is(c.Err(), want) {
			t.Errorf("context %d: Err = %v, want %v", i, c.Err(), want)
		}
	}
}

// TestContextsAllocs: contexts come from blocks: fewer than one
// allocation per context.
func TestContextsAllocs(t *testing.T) {
	var a chain.Contexts
	deadline := time.Now().Add(time.Hour)
	if n := testing.AllocsPerRun(1000, func() { a.New(deadline).End() }); n >= 1 {
		t.Fatalf("%v allocations per context, want fewer than 1", n)
	}
}

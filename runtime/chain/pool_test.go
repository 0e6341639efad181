package chain_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/chain"
)

// TestPoolBoundsAndDrops: with the one worker busy and the queue full, the
// next item is dropped and counted; queued items still run, in order, and
// the worker exits once the queue is empty.
func TestPoolBoundsAndDrops(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var ran []int
	p := chain.NewPool(1, 2, func(i int) {
		<-release
		mu.Lock()
		ran = append(ran, i)
		mu.Unlock()
	})
	p.Submit(0)
	for deadline := time.Now().Add(5 * time.Second); p.Stats().Queued != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the worker never took the first item")
		}
	}
	if !p.Submit(1) || !p.Submit(2) || p.Submit(3) {
		t.Fatal("the queue of two did not take exactly two items")
	}
	if s := p.Stats(); s.Dropped != 1 || s.Workers != 1 {
		t.Fatalf("stats %+v", s)
	}
	close(release)
	for deadline := time.Now().Add(5 * time.Second); p.Stats().Done != 3 || p.Stats().Workers != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", p.Stats())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ran) != 3 || ran[0] != 0 || ran[1] != 1 || ran[2] != 2 {
		t.Fatalf("ran %v", ran)
	}
}

// TestHTTPClientAndTimers: outbound requests read the answer whole and
// stop at their timeout; timers run their work later with a deadline and
// the client, and recover its panics.
func TestHTTPClientAndTimers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(200 * time.Millisecond)
		}
		w.Header().Set("X-Got", r.Header.Get("X-Send"))
		w.WriteHeader(201)
		w.Write([]byte("hi"))
	}))
	defer srv.Close()
	c := chain.HTTPClient{}
	res, err := c.Do(context.Background(), hostabi.HTTPRequest{Method: "POST", URL: srv.URL, Header: map[string][]string{"X-Send": {"v"}}})
	if err != nil || res.Status != 201 || string(res.Body) != "hi" || res.Header["x-got"][0] != "v" {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := c.Do(context.Background(), hostabi.HTTPRequest{URL: srv.URL + "/slow", Timeout: 20 * time.Millisecond}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}

	tm := chain.NewTimers(1, 4, time.Minute, c)
	faults := make(chan string, 1)
	tm.OnFault = func(plugin string, v any) { faults <- plugin }
	got := make(chan int, 1)
	if err := tm.After("p", 10*time.Millisecond, func(ctx context.Context, h hostabi.HTTP) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("timer context without a deadline")
		}
		r, _ := h.Do(ctx, hostabi.HTTPRequest{URL: srv.URL})
		got <- r.Status
	}); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != 201 {
		t.Fatalf("timer status %d", s)
	}
	tm.After("bad", 0, func(context.Context, hostabi.HTTP) { panic("x") })
	if p := <-faults; p != "bad" {
		t.Fatalf("fault from %q", p)
	}
}

// TestPoolWait: Wait returns only once every submitted item has run, and
// with ctx's error when ctx ends first.
func TestPoolWait(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	ran := 0
	p := chain.NewPool(2, 8, func(int) {
		<-release
		mu.Lock()
		ran++
		mu.Unlock()
	})
	for i := range 5 {
		p.Submit(i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with blocked items = %v", err)
	}
	close(release)
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ran != 5 {
		t.Fatalf("Wait returned after %d of 5 items", ran)
	}
}

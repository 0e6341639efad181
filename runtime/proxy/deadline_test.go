package proxy

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

func TestRearm(t *testing.T) {
	base := time.Unix(1000, 0)
	slack := int64(time.Millisecond)
	tests := []struct {
		name string
		cur  time.Time // zero: none armed
		next time.Time
		want bool
	}{
		{"none to none", time.Time{}, time.Time{}, false},
		{"none to one", time.Time{}, base, true},
		{"same", base, base, false},
		{"later within slack", base, base.Add(time.Millisecond / 2), false},
		{"later by slack", base, base.Add(time.Millisecond), true},
		{"later beyond slack", base, base.Add(time.Second), true},
		{"earlier", base, base.Add(-time.Nanosecond), true},
		{"cleared", base, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cur atomic.Int64
			if !tt.cur.IsZero() {
				cur.Store(tt.cur.UnixNano())
			}
			if _, got := rearm(&cur, tt.next, slack); got != tt.want {
				t.Fatalf("rearm = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDeadlineConnTimesOut: over a real loopback connection, a read
// deadline that was not re-armed (within the slack) still ends a read in
// time, never later than the deadline asked for, and a cleared deadline
// is cleared.
func TestDeadlineConnTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	defer peer.Close()
	c := newDeadlineConn(raw, 10*time.Second, 10*time.Second) // 10 ms slack
	defer c.Close()

	start := time.Now()
	first := start.Add(200 * time.Millisecond)
	if err := c.SetReadDeadline(first); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(first.Add(5 * time.Millisecond)); err != nil { // within the slack: kept
		t.Fatal(err)
	}
	if got := c.read.Load(); got != first.UnixNano() {
		t.Fatalf("armed deadline %d, want the first one %d", got, first.UnixNano())
	}
	_, err = c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read error %v, want a deadline error", err)
	}
	if late := time.Since(first.Add(5 * time.Millisecond)); late > 2*time.Second {
		t.Fatalf("the read ended %v after the deadline asked for", late)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Fatalf("the read ended after %v, before the armed deadline", took)
	}

	// Clearing the deadline lets a read wait for data again.
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go peer.Write([]byte("x"))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("read after clearing the deadline: %v", err)
	}
}

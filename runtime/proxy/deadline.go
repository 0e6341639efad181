package proxy

import (
	"net"
	"sync/atomic"
	"time"
)

// deadlineConn is an upstream connection that keeps its read and write
// deadlines per connection rather than re-arming them for every request.
// fasthttp's client sets both before each request (now plus the service's
// read_timeout and write_timeout), and re-arming a deadline costs a
// runtime timer update each time. A new deadline within deadlineSlack of
// the one armed is not re-armed: the deadline in force is then at most
// that much earlier than asked (a thousandth of the timeout: 60 ms of
// Kong's default 60 s, under a millisecond for a timeout under one
// second), and never later. A connection used again more than that after
// its deadline was armed re-arms it.
type deadlineConn struct {
	net.Conn
	readSlack, writeSlack int64
	// read and write are the deadlines armed, in Unix nanoseconds (0:
	// none). fasthttp uses a connection from one goroutine at a time; the
	// atomics keep a stray concurrent call (Close racing a read) sound.
	read, write atomic.Int64
}

// deadlineSlack is the share of a timeout by which an armed deadline may
// be earlier than the one asked for.
const deadlineSlack = 1000

func newDeadlineConn(c net.Conn, readTimeout, writeTimeout time.Duration) *deadlineConn {
	return &deadlineConn{Conn: c, readSlack: int64(readTimeout / deadlineSlack), writeSlack: int64(writeTimeout / deadlineSlack)}
}

// rearm reports whether deadline t must be armed over the one in cur.
func rearm(cur *atomic.Int64, t time.Time, slack int64) (int64, bool) {
	var n int64
	if !t.IsZero() {
		n = t.UnixNano()
	}
	old := cur.Load()
	if n == old {
		return n, false
	}
	if old != 0 && n > old && n-old < slack {
		return n, false // the armed deadline is earlier by less than slack
	}
	return n, true
}

// SetReadDeadline implements net.Conn.
func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	n, ok := rearm(&c.read, t, c.readSlack)
	if !ok {
		return nil
	}
	if err := c.Conn.SetReadDeadline(t); err != nil {
		return err
	}
	c.read.Store(n)
	return nil
}

// SetWriteDeadline implements net.Conn.
func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	n, ok := rearm(&c.write, t, c.writeSlack)
	if !ok {
		return nil
	}
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	c.write.Store(n)
	return nil
}

// SetDeadline implements net.Conn.
func (c *deadlineConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetDeadline(t); err != nil {
		return err
	}
	var n int64
	if !t.IsZero() {
		n = t.UnixNano()
	}
	c.read.Store(n)
	c.write.Store(n)
	return nil
}

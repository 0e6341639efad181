package httpguard

import (
	"crypto/tls"
	"net"
	"sync"
)

// Tracker wraps a listener only to track its connections, so that a
// shutdown can cut the ones left at its deadline (the Admin and Status
// APIs, whose requests the guard does not check).
type Tracker struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Track wraps ln.
func Track(ln net.Listener) *Tracker {
	return &Tracker{Listener: ln, conns: map[net.Conn]struct{}{}}
}

// Accept returns the next connection, tracked; a TLS one keeps its TLS
// methods.
func (t *Tracker) Accept() (net.Conn, error) {
	c, err := t.Listener.Accept()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.conns[c] = struct{}{}
	t.mu.Unlock()
	tc := &trackedConn{Conn: c, t: t}
	if tl, ok := c.(*tls.Conn); ok {
		return &trackedTLSConn{trackedConn: tc, tls: tl}, nil
	}
	return tc, nil
}

// CloseConns closes every open connection.
func (t *Tracker) CloseConns() {
	t.mu.Lock()
	conns := make([]net.Conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	t *Tracker
}

func (c *trackedConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.conns, c.Conn)
	c.t.mu.Unlock()
	return c.Conn.Close()
}

type trackedTLSConn struct {
	*trackedConn
	tls *tls.Conn
}

func (c *trackedTLSConn) Handshake() error                     { return c.tls.Handshake() }
func (c *trackedTLSConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

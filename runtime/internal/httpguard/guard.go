// Package httpguard validates HTTP/1.x framing before the server sees it.
//
// A Listener wraps the proxy's net.Listener (outside TLS, so it reads
// plaintext). Each Conn parses every request head whole and checks it
// strictly, the way nginx does: request line, header syntax, head size,
// Host, Content-Length and Transfer-Encoding. It follows each body's
// framing (Content-Length count or every chunk-size line, extension, CRLF
// and trailer) so it always knows where the next request starts. Bodies up
// to Limits.Prefetch are read and validated whole before any byte of the
// request is handed on; longer ones are handed on as they are validated.
//
// A bad request never reaches the server: the Conn hands it a fixed
// synthetic request instead ("GET / HTTP/1.1", "Connection: close") and
// records that request number N on this connection is rejected with a
// status and reason (see Rejection). The handler answers it, and nothing
// after it is read. Answers thus stay in order with pipelined requests and
// every request is answered.
//
// The Conn also owns the read deadlines: the keep-alive timeout while it
// waits for a request's first byte, the header timeout for the whole head,
// and the body timeout between body reads. The server's own read timeouts
// must be off.
package httpguard

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Limits are the guard's size limits and timeouts. Zero values take the
// defaults (nginx's).
type Limits struct {
	// MaxLine is the longest request line or header line (8 KiB).
	MaxLine int
	// MaxHead is the largest request head, request line and headers (32 KiB).
	MaxHead int
	// Prefetch is the largest body validated whole before the request is
	// handed on (1 MiB).
	Prefetch int
	// HeaderTimeout bounds reading a whole request head, and the wait for
	// a connection's first request (60 s).
	HeaderTimeout time.Duration
	// BodyTimeout bounds each wait for body bytes (60 s).
	BodyTimeout time.Duration
	// KeepaliveTimeout bounds the wait for the next request on a
	// keep-alive connection (75 s).
	KeepaliveTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxLine <= 0 {
		l.MaxLine = 8 << 10
	}
	if l.MaxHead <= 0 {
		l.MaxHead = 32 << 10
	}
	if l.MaxHead < l.MaxLine {
		l.MaxHead = l.MaxLine
	}
	if l.Prefetch <= 0 {
		l.Prefetch = 1 << 20
	}
	if l.HeaderTimeout <= 0 {
		l.HeaderTimeout = 60 * time.Second
	}
	if l.BodyTimeout <= 0 {
		l.BodyTimeout = 60 * time.Second
	}
	if l.KeepaliveTimeout <= 0 {
		l.KeepaliveTimeout = 75 * time.Second
	}
	return l
}

// Kong's messages for the statuses the guard answers with.
const (
	MsgBadRequest     = "Bad request"
	MsgURITooLong     = "URI too long"
	MsgHeaderTooLarge = "Request header or cookie too large"
	MsgNotImplemented = "Not implemented"
	MsgTimeout        = "Request timeout"
)

// Listener wraps a net.Listener; it tracks its live connections so that a
// shutdown can cut the ones left at its deadline.
type Listener struct {
	net.Listener
	limits Limits

	mu    sync.Mutex
	conns map[*Conn]struct{}
}

// NewListener wraps ln.
func NewListener(ln net.Listener, limits Limits) *Listener {
	return &Listener{Listener: ln, limits: limits.withDefaults(), conns: map[*Conn]struct{}{}}
}

// Accept returns the next connection, wrapped. A TLS connection keeps its
// Handshake and ConnectionState methods, which the server looks for.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &Conn{Conn: c, l: l, lim: &l.limits}
	l.mu.Lock()
	l.conns[gc] = struct{}{}
	l.mu.Unlock()
	if tc, ok := c.(*tls.Conn); ok {
		// The handshake happens before the first Read: bound it too.
		_ = c.SetReadDeadline(time.Now().Add(l.limits.HeaderTimeout))
		return &TLSConn{Conn: gc, tls: tc}, nil
	}
	return gc, nil
}

// Conns returns the number of open connections.
func (l *Listener) Conns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// CloseIdle closes the connections waiting for a request (a shutdown's
// start: nginx closes idle connections at once, and lets the others finish
// their request).
func (l *Listener) CloseIdle() {
	l.mu.Lock()
	var idle []*Conn
	for c := range l.conns {
		if c.waiting.Load() {
			idle = append(idle, c)
		}
	}
	l.mu.Unlock()
	for _, c := range idle {
		c.closeNow()
	}
}

// CloseConns closes every open connection at once (a shutdown's deadline).
func (l *Listener) CloseConns() {
	l.mu.Lock()
	conns := make([]*Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.closeNow()
	}
}

func (l *Listener) forget(c *Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// TLSConn is a Conn over TLS.
type TLSConn struct {
	*Conn
	tls *tls.Conn
}

// Handshake runs the TLS handshake.
func (c *TLSConn) Handshake() error { return c.tls.Handshake() }

// ConnectionState returns the TLS connection state.
func (c *TLSConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

// Lookup returns the guard connection under c, or nil.
func Lookup(c net.Conn) *Conn {
	switch g := c.(type) {
	case *Conn:
		return g
	case *TLSConn:
		return g.Conn
	}
	return nil
}

// Rejection reports whether request number n on c (counting from 1, as
// fasthttp's ConnRequestNum does) is the guard's stand-in for a rejected
// request, and with which status and message it must be answered.
func Rejection(c net.Conn, n uint64) (status int, msg string) {
	g := Lookup(c)
	if g == nil || g.rejectNum == 0 || g.rejectNum != n {
		return 0, ""
	}
	return g.rejectStatus, g.rejectMsg
}

// BodyError reports whether reading the current request's body failed in
// the guard (bad chunked framing: 400; body timeout: 408), and the message.
func BodyError(c net.Conn) (status int, msg string) {
	g := Lookup(c)
	if g == nil {
		return 0, ""
	}
	return g.bodyStatus, g.bodyMsg
}

// Linger makes c drain what the client still sends for a moment when it
// closes, so that an answer given before the request was read whole (a
// body left unread) is not lost to a reset.
func Linger(c net.Conn) {
	if g := Lookup(c); g != nil {
		g.linger.Store(true)
	}
}

// parse states.
const (
	stStart     = iota // before a request's first byte
	stHead             // inside a request head
	stBody             // inside a Content-Length body
	stChunkSize        // at a chunk-size line
	stChunkData        // inside chunk data
	stChunkCRLF        // at the CRLF after chunk data
	stTrailer          // inside the trailer section
	stDone             // no more requests on this connection
)

// synthetic stands in for a rejected request.
var synthetic = []byte("GET / HTTP/1.1\r\nHost: gatehouse.invalid\r\nConnection: close\r\n\r\n")

var errBadChunk = errors.New("httpguard: invalid chunked body")

// Conn is one guarded client connection.
type Conn struct {
	net.Conn
	l   *Listener
	lim *Limits

	// buf[r:rel] is handed on and not yet read by the server; buf[rel:p]
	// is validated and held back; buf[p:w] is not parsed yet.
	buf          []byte
	r, rel, p, w int

	state     int
	scanned   int   // bytes after p already searched for '\n'
	headLen   int   // length of the held request's head
	trailers  int   // bytes of the trailer section so far
	skipped   int   // empty lines dropped before the request line
	eol       int   // length of the last line's end: 2 (CRLF) or 1 (LF)
	remain    int64 // body or chunk bytes left
	streaming bool  // the current request is handed on as it is validated
	headStart time.Time
	released  uint64 // request heads handed on
	err       error  // returned once everything handed on is read

	// Per-request head facts.
	http10, hasCL, hasTE, hasHost, expect bool
	teUnknown                             bool
	cl                                    int64

	rejectNum    uint64
	rejectStatus int
	rejectMsg    string
	bodyStatus   int
	bodyMsg      string

	linger  atomic.Bool
	closed  atomic.Bool
	waiting atomic.Bool // blocked waiting for a request's first byte
}

// Read hands the server validated bytes only.
func (c *Conn) Read(p []byte) (int, error) {
	for c.r == c.rel {
		if c.state == stDone {
			return 0, c.err
		}
		c.parse()
		if c.r < c.rel || c.state == stDone {
			continue
		}
		c.fill()
	}
	n := copy(p, c.buf[c.r:c.rel])
	c.r += n
	return n, nil
}

// Close closes the connection. After a rejected request it first stops
// sending and drains what the client still sends for a moment, so the
// answer is not lost to a reset (nginx's lingering close).
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	defer c.l.forget(c)
	if c.linger.Load() {
		// TCP: FIN; TLS: close_notify.
		if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_ = c.Conn.SetReadDeadline(time.Now().Add(lingerTime))
		var scratch [4096]byte
		for total := 0; total < lingerBytes; {
			n, err := c.Conn.Read(scratch[:])
			total += n
			if err != nil {
				break
			}
		}
	}
	return c.Conn.Close()
}

// keepBuffer is the largest read buffer an idle connection keeps.
const keepBuffer = 16 << 10

const (
	lingerTime  = 2 * time.Second
	lingerBytes = 1 << 20
)

func (c *Conn) closeNow() {
	if !c.closed.Swap(true) {
		c.l.forget(c)
	}
	c.Conn.Close()
}

// fill reads more from the network, under the deadline of the state.
func (c *Conn) fill() {
	if c.r == c.w && len(c.buf) > keepBuffer {
		// A large request is over: do not keep its buffer on an idle
		// connection.
		c.buf, c.r, c.rel, c.p, c.w = nil, 0, 0, 0, 0
	}
	if c.r == c.rel && c.r > 0 && (c.w == len(c.buf) || c.r >= len(c.buf)/2) {
		// Compact: everything before r has been read by the server.
		copy(c.buf, c.buf[c.r:c.w])
		c.p -= c.r
		c.w -= c.r
		c.rel -= c.r
		c.r = 0
	}
	if c.w == len(c.buf) {
		size := 2 * len(c.buf)
		if size == 0 {
			size = 4 << 10
		}
		nb := make([]byte, size)
		copy(nb, c.buf[:c.w])
		c.buf = nb
	}
	var deadline time.Time
	now := time.Now()
	switch c.state {
	case stStart:
		if c.released == 0 {
			deadline = now.Add(c.lim.HeaderTimeout)
		} else {
			deadline = now.Add(c.lim.KeepaliveTimeout)
		}
	case stHead:
		deadline = c.headStart.Add(c.lim.HeaderTimeout)
	default:
		deadline = now.Add(c.lim.BodyTimeout)
	}
	_ = c.Conn.SetReadDeadline(deadline)
	idle := c.state == stStart
	if idle {
		c.waiting.Store(true)
	}
	n, err := c.Conn.Read(c.buf[c.w:])
	if idle {
		c.waiting.Store(false)
	}
	c.w += n
	if err == nil || n > 0 {
		return
	}
	// The connection ends. Between requests or within a head, the server
	// sees a clean end (nginx closes without an answer). A body that times
	// out is answered 408: a held one through the stand-in, a streamed one
	// as a body error. A body cut short by the client ends a streamed
	// body with an error.
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout()
	inBody := c.state != stStart && c.state != stHead
	if timeout && inBody {
		c.reject(408, MsgTimeout)
		if c.streaming {
			c.err = err
		}
		return
	}
	c.state = stDone
	c.err = io.EOF
	if c.streaming {
		c.rel = c.p
		c.err = io.ErrUnexpectedEOF
	}
}

// reject replaces the request being parsed by the synthetic one and ends
// the connection after it.
func (c *Conn) reject(status int, msg string) {
	if c.streaming {
		// The head is with the server already: fail the body instead.
		c.rel = c.p
		c.bodyStatus, c.bodyMsg = status, msg
		c.state, c.err = stDone, errBadChunk
		c.linger.Store(true)
		return
	}
	c.w = c.rel
	if need := c.w + len(synthetic); need > len(c.buf) {
		nb := make([]byte, need)
		copy(nb, c.buf[:c.w])
		c.buf = nb
	}
	c.w += copy(c.buf[c.w:], synthetic)
	c.p, c.rel = c.w, c.w
	c.released++
	c.rejectNum, c.rejectStatus, c.rejectMsg = c.released, status, msg
	c.state, c.err = stDone, io.EOF
	c.linger.Store(true)
}

// release hands on everything validated so far.
func (c *Conn) release() { c.rel = c.p }

// parse advances over buf[p:w] as far as it can.
func (c *Conn) parse() {
	for c.p < c.w {
		switch c.state {
		case stStart:
			// The head's clock starts at its first byte.
			c.state = stHead
			c.scanned, c.skipped = 0, 0
			c.headStart = time.Now()
			c.http10, c.hasCL, c.hasTE, c.hasHost, c.expect, c.teUnknown = false, false, false, false, false, false
			c.cl = 0
			c.streaming = false
		case stHead:
			line, ok := c.nextLine(c.p == c.rel)
			if !ok {
				return
			}
			if len(line) == 0 && c.p == c.rel {
				// An empty line before the request line is dropped (RFC
				// 9112 2.2), a few of them.
				if c.skipped += c.eol; c.skipped > c.lim.MaxLine {
					c.reject(400, MsgBadRequest)
					return
				}
				c.drop(c.eol)
				continue
			}
			if len(line) == 0 {
				c.p += c.eol
				if !c.endHead() {
					return
				}
				continue
			}
			var status int
			var msg string
			if c.p == c.rel {
				status, msg = c.requestLine(line)
			} else {
				status, msg = c.headerLine(line)
			}
			if status != 0 {
				c.reject(status, msg)
				return
			}
			c.p += len(line) + c.eol
		case stBody:
			n := int64(c.w - c.p)
			if n > c.remain {
				n = c.remain
			}
			c.p += int(n)
			c.remain -= n
			if c.remain == 0 {
				c.endRequest()
			} else if c.streaming {
				c.release()
			}
		case stChunkSize:
			line, ok := c.nextLine(false)
			if !ok {
				return
			}
			size, good := chunkSize(line)
			if !good {
				c.reject(400, MsgBadRequest)
				return
			}
			c.p += len(line) + 2
			if size == 0 {
				c.state = stTrailer
				c.trailers = 0
			} else {
				c.remain = size
				c.state = stChunkData
			}
			c.afterChunkStep()
		case stChunkData:
			n := int64(c.w - c.p)
			if n > c.remain {
				n = c.remain
			}
			c.p += int(n)
			c.remain -= n
			if c.remain == 0 {
				c.state = stChunkCRLF
			}
			c.afterChunkStep()
		case stChunkCRLF:
			if c.w-c.p < 2 {
				if c.buf[c.p] != '\r' {
					c.reject(400, MsgBadRequest)
				}
				return
			}
			if c.buf[c.p] != '\r' || c.buf[c.p+1] != '\n' {
				c.reject(400, MsgBadRequest)
				return
			}
			c.p += 2
			c.state = stChunkSize
			c.afterChunkStep()
		case stTrailer:
			line, ok := c.nextLine(false)
			if !ok {
				return
			}
			if len(line) == 0 {
				c.p += 2
				c.endRequest()
				continue
			}
			c.trailers += len(line) + 2
			if c.trailers > c.lim.MaxHead {
				c.reject(400, MsgHeaderTooLarge)
				return
			}
			if status, msg := c.trailerLine(line); status != 0 {
				c.reject(status, msg)
				return
			}
			c.p += len(line) + 2
		default:
			return
		}
		if c.state == stDone {
			return
		}
	}
}

// afterChunkStep hands a streamed chunked body on as it is validated, and
// starts streaming a held one that grew past Prefetch.
func (c *Conn) afterChunkStep() {
	if !c.streaming && c.p-c.rel-c.headLen > c.lim.Prefetch {
		c.startStreaming()
	}
	if c.streaming {
		c.release()
	}
}

func (c *Conn) startStreaming() {
	c.streaming = true
	c.released++
}

// drop removes k bytes at p, which the server will never see.
func (c *Conn) drop(k int) {
	if c.r == c.rel {
		c.r += k
		c.rel += k
		c.p += k
		return
	}
	copy(c.buf[c.p:], c.buf[c.p+k:c.w])
	c.w -= k
}

// nextLine returns the complete line at p without its line end, and sets
// eol to the line end's length. A head line may end in CRLF or a bare LF
// (RFC 9112 2.2, as nginx and fasthttp read them); a chunk-size or
// trailer line must end in CRLF. It rejects the request when the line or
// the head grows past the limits.
func (c *Conn) nextLine(first bool) ([]byte, bool) {
	start := c.p
	i := bytes.IndexByte(c.buf[start+c.scanned:c.w], '\n')
	if i < 0 {
		c.scanned = c.w - start
		n := c.w - start
		if c.buf[c.w-1] == '\r' {
			n-- // maybe the line's end
		}
		c.lineTooLong(n, first)
		return nil, false
	}
	end := start + c.scanned + i // index of '\n'
	c.scanned = 0
	if end > start && c.buf[end-1] == '\r' {
		c.eol = 2
	} else if c.state == stHead {
		c.eol = 1
	} else {
		c.reject(400, MsgBadRequest) // bare LF in chunked framing
		return nil, false
	}
	if c.lineTooLong(end+1-c.eol-start, first) {
		return nil, false
	}
	return c.buf[start : end+1-c.eol], true
}

// lineTooLong rejects a request whose current line of n bytes is over the
// line limit, or whose head would be over the head limit.
func (c *Conn) lineTooLong(n int, first bool) bool {
	switch c.state {
	case stHead:
		if n > c.lim.MaxLine {
			if first {
				c.reject(414, MsgURITooLong)
			} else {
				c.reject(400, MsgHeaderTooLarge)
			}
			return true
		}
		if c.p-c.rel+n > c.lim.MaxHead {
			c.reject(400, MsgHeaderTooLarge)
			return true
		}
	default: // chunk-size and trailer lines
		if n > c.lim.MaxLine {
			c.reject(400, MsgBadRequest)
			return true
		}
	}
	return false
}

// endHead decides the body's framing once the head is complete.
func (c *Conn) endHead() bool {
	if !c.http10 && !c.hasHost {
		c.reject(400, MsgBadRequest)
		return false
	}
	if c.hasTE && (c.hasCL || c.http10) {
		c.reject(400, MsgBadRequest)
		return false
	}
	if c.teUnknown {
		c.reject(501, MsgNotImplemented)
		return false
	}
	c.headLen = c.p - c.rel
	switch {
	case c.hasTE:
		c.state = stChunkSize
		if c.expect {
			c.startStreaming()
			c.release()
		}
	case c.hasCL && c.cl > 0:
		c.state = stBody
		c.remain = c.cl
		if c.expect || c.cl > int64(c.lim.Prefetch) {
			c.startStreaming()
			c.release()
		}
	default:
		c.endRequest()
	}
	return true
}

// endRequest hands the complete request on and waits for the next.
func (c *Conn) endRequest() {
	if !c.streaming {
		c.released++
	}
	c.streaming = false
	c.release()
	c.state = stStart
}

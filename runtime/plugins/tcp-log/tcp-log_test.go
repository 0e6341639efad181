package tcplog

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testcert"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// server accepts connections and reports each line with the SNI seen.
type server struct {
	ln    net.Listener
	conns atomic.Int64
	lines chan string
	sni   chan string
}

func newServer(t *testing.T, tlsConf *tls.Config) *server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln, lines: make(chan string, 10), sni: make(chan string, 10)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			if tlsConf != nil {
				tc := tls.Server(c, tlsConf)
				if tc.Handshake() != nil {
					continue
				}
				s.sni <- tc.ConnectionState().ServerName
				c = tc
			}
			go func(c net.Conn) {
				sc := bufio.NewScanner(c)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					s.lines <- sc.Text()
				}
			}(c)
		}
	}()
	return s
}

func (s *server) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *server) line(t *testing.T) map[string]any {
	t.Helper()
	select {
	case l := <-s.lines:
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no line")
	}
	return nil
}

// TestLog: lines of JSON over one kept-alive connection, or a new
// connection each time with keepalive 0; TLS with the configured SNI.
func TestLog(t *testing.T) {
	certPEM, keyPEM, err := testcert.SelfSigned("logs.test")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		tls       bool
		keepalive float64
		conns     int64
	}{
		{"plain, kept alive", false, 60000, 1},
		{"plain, no keepalive", false, 0, 3},
		{"tls with sni", true, 60000, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tlsConf *tls.Config
			if tc.tls {
				tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}}
			}
			s := newServer(t, tlsConf)
			cfg := map[string]any{"host": "127.0.0.1", "port": s.port(), "keepalive": tc.keepalive, "tls": tc.tls}
			if tc.tls {
				cfg["tls_sni"] = "logs.test"
			}
			inst := plugintest.New(t, Schema(), New, cfg)
			for i := 0; i < 3; i++ {
				plugintest.Run(t, inst, hostabi.PhaseLog, plugintest.NewRequest("GET", "/x"))
				if m := s.line(t); m["request"].(map[string]any)["uri"] != "/x" {
					t.Fatalf("record %v", m)
				}
			}
			if s.conns.Load() != tc.conns {
				t.Fatalf("%d connections, want %d", s.conns.Load(), tc.conns)
			}
			if tc.tls {
				if sni := <-s.sni; sni != "logs.test" {
					t.Fatalf("sni %q", sni)
				}
			}
		})
	}
}

// TestDown: an unreachable server is an error, never a hang past timeout.
func TestDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := &Plugin{conf: Config{Host: "127.0.0.1", Port: int64(port), Timeout: 200, Keepalive: 1000}}
	start := time.Now()
	if err := p.Send([]byte("x\n")); err == nil {
		t.Fatal("no error")
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("took too long")
	}
}

// BenchmarkLog measures serializing and sending one line on a kept-alive
// connection.
func BenchmarkLog(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = bufio.NewReader(c).WriteTo(discard{}) }()
		}
	}()
	p := &Plugin{conf: Config{Host: "127.0.0.1", Port: int64(ln.Addr().(*net.TCPAddr).Port), Timeout: 1000, Keepalive: 60000}}
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/orders"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, p, hostabi.PhaseLog); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

package udplog

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// TestLog: each request is one datagram holding Kong's log record.
func TestLog(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	inst := plugintest.New(t, Schema(), New, map[string]any{"host": "127.0.0.1", "port": port})
	for _, path := range []string{"/one", "/two"} {
		plugintest.Run(t, inst, hostabi.PhaseLog, plugintest.NewRequest("POST", path))
		buf := make([]byte, 64<<10)
		_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(buf[:n], &m); err != nil {
			t.Fatalf("%q: %v", buf[:n], err)
		}
		if rq := m["request"].(map[string]any); rq["uri"] != path || rq["method"] != "POST" {
			t.Fatalf("record %v", m)
		}
	}
}

// TestConfig: host and port are required; defaults from the schema.
func TestConfig(t *testing.T) {
	cases := []struct {
		in map[string]any
		ok bool
	}{
		{map[string]any{"host": "127.0.0.1", "port": 514}, true},
		{map[string]any{"host": "127.0.0.1"}, false},
		{map[string]any{"port": 514}, false},
		{map[string]any{"host": "bad host", "port": 514}, false},
		{map[string]any{"host": "h", "port": 70000}, false},
	}
	for _, tc := range cases {
		_, errs := plugintest.ValidateConfig(Schema(), tc.in)
		if (len(errs) == 0) != tc.ok {
			t.Errorf("%v: %v", tc.in, errs)
		}
	}
	c, err := ParseConfig(map[string]any{"host": "h", "port": 1})
	if err != nil || c.Timeout != 10000 {
		t.Fatalf("%+v %v", c, err)
	}
}

// BenchmarkLog measures serializing and sending one datagram.
func BenchmarkLog(b *testing.B) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	p := &Plugin{conf: Config{Host: "127.0.0.1", Port: int64(pc.LocalAddr().(*net.UDPAddr).Port), Timeout: 1000}}
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/orders"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, p, hostabi.PhaseLog); err != nil {
			b.Fatal(err)
		}
	}
}

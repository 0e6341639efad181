package httpguard

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzGuard feeds arbitrary bytes through the guard. It must not panic;
// what it hands on must not depend on how the input is split into reads;
// what it hands on must pass through it again unchanged; and fasthttp
// must read from it exactly the requests the guard counted (the two agree
// on where every request ends).
func FuzzGuard(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /s HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		lim := Limits{MaxLine: 256, MaxHead: 1024, Prefetch: 64}
		whole, c := through(nil, string(in), 0, lim)
		split, _ := through(nil, string(in), int(step%16)+1, lim)
		if whole != split {
			t.Fatalf("split reads changed the output:\n%q\n%q", whole, split)
		}
		if c.rejectNum != 0 && !strings.HasSuffix(whole, syn) {
			t.Fatalf("rejected without the stand-in: %q", whole)
		}
		clean := strings.TrimSuffix(whole, syn)
		if c.rejectNum == 0 && c.bodyStatus == 0 && c.state == stStart {
			// Every request was complete: fasthttp must read exactly them.
			again, c2 := through(nil, clean, 0, lim)
			if again != clean || c2.rejectNum != 0 {
				t.Fatalf("valid output rejected or changed: %q -> %q", clean, again)
			}
			br := bufio.NewReaderSize(bytes.NewReader([]byte(clean)), 4096)
			var req fasthttp.Request
			n := uint64(0)
			for {
				if _, err := br.Peek(1); err != nil {
					break
				}
				if err := req.Read(br); err != nil {
					t.Fatalf("fasthttp failed on request %d of %q: %v", n+1, clean, err)
				}
				n++
			}
			if n != c.released {
				t.Fatalf("fasthttp read %d requests, the guard counted %d: %q", n, c.released, clean)
			}
		}
	})
}

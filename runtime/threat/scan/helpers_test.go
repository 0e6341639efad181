package scan

import (
	"io"
	"runtime"
	"testing"
)

// genReader produces prefix, then fill repeated up to size bytes in all,
// then suffix, without ever holding the body; read counts the bytes handed
// out.
type genReader struct {
	prefix, fill, suffix string
	size                 int64
	pos                  int64
	read                 int64
}

func (g *genReader) Read(p []byte) (int, error) {
	total := g.size + int64(len(g.suffix))
	if g.pos >= total {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && g.pos < total {
		var k int
		switch {
		case g.pos < int64(len(g.prefix)):
			k = copy(p[n:], g.prefix[g.pos:])
		case g.pos < g.size:
			lim := int64(len(p) - n)
			if left := g.size - g.pos; left < lim {
				lim = left
			}
			off := (g.pos - int64(len(g.prefix))) % int64(len(g.fill))
			k = copy(p[n:int64(n)+lim], g.fill[off:])
		default:
			k = copy(p[n:], g.suffix[g.pos-g.size:])
		}
		n += k
		g.pos += int64(k)
	}
	g.read += int64(n)
	return n, nil
}

// errReader fails after handing out data.
type errReader struct {
	data string
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if e.data == "" {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

// allocated runs f and returns the bytes it allocated.
func allocated(t *testing.T, f func()) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

const mib = 1 << 20

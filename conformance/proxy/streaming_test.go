package proxy_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"testing"
)

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestLargeBodiesStream sends a 64 MiB upload and fetches a 64 MiB download
// through the proxy: both arrive whole, and the gateway allocates far less
// than the bodies' size, so neither sat in memory.
func TestLargeBodiesStream(t *testing.T) {
	const size = 64 << 20
	up := startUpstream(t, "big", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			w.Header().Set("X-Received", strconv.FormatInt(n, 10))
			w.Write([]byte(hex.EncodeToString(h.Sum(nil))))
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(size))
		io.CopyN(w, zeros{}, size)
	})
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=big", "url=http://"+up.addr)
	nd.configure("POST", "/services/big/routes", "paths=/big")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	req, _ := http.NewRequest("POST", nd.proxy+"/big", io.LimitReader(zeros{}, size))
	req.ContentLength = size
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := io.ReadAll(res.Body)
	res.Body.Close()
	want := sha256.New()
	io.CopyN(want, zeros{}, size)
	if res.StatusCode != 200 || res.Header.Get("X-Received") != strconv.Itoa(size) || string(sum) != hex.EncodeToString(want.Sum(nil)) {
		t.Fatalf("upload: %d received %s", res.StatusCode, res.Header.Get("X-Received"))
	}

	res, err = http.Get(nd.proxy + "/big")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || n != size {
		t.Fatalf("download: %d, %d bytes", res.StatusCode, n)
	}
	runtime.ReadMemStats(&after)
	// The test's own client and upstream allocate too; the bodies are 128
	// MiB together, so a buffering proxy would at least double that.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size {
		t.Errorf("allocated %d MiB moving 128 MiB of bodies", alloc>>20)
	}
}

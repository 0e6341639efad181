package proxy_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"
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

// TestBodyFiltersLetLargeResponsesStream: on a route with proxy-cache and
// response-transformer, a large response neither wants (not cacheable,
// not JSON) streams to the client — its first bytes arrive while the
// upstream still holds the rest back — whereas a JSON response is
// transformed whole.
func TestBodyFiltersLetLargeResponsesStream(t *testing.T) {
	release := make(chan struct{})
	up := startUpstream(t, "stream", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/json" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"a":1}`)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(4<<20))
		io.CopyN(w, zeros{}, 2<<20)
		w.(http.Flusher).Flush()
		select {
		case <-release: // the client has the first half
		case <-time.After(10 * time.Second):
		}
		io.CopyN(w, zeros{}, 2<<20)
	})
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=stream", "url=http://"+up.addr)
	nd.configure("POST", "/services/stream/routes", "paths=/s")
	nd.configure("POST", "/services/stream/plugins", "name=proxy-cache", "config.strategy=memory")
	nd.configure("POST", "/services/stream/plugins", "name=response-transformer", "config.add.json=b:2")

	res, err := http.Get(nd.proxy + "/s/blob")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	start := time.Now()
	if _, err := io.ReadFull(res.Body, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	firstPart := time.Since(start)
	close(release)
	rest, err := io.Copy(io.Discard, res.Body)
	if err != nil || rest != 3<<20 {
		t.Fatalf("rest of the body: %d bytes, %v", rest, err)
	}
	if firstPart > 5*time.Second {
		t.Fatalf("the first MiB came only after the upstream was released: the body was buffered")
	}
	if res.Header.Get("X-Cache-Status") != "Bypass" {
		t.Errorf("X-Cache-Status %q", res.Header.Get("X-Cache-Status"))
	}
	r := nd.request("GET", "/s/json", nil, nil)
	if string(r.body) != `{"a":1,"b":"2"}` {
		t.Errorf("JSON response: %s", r.body)
	}
}

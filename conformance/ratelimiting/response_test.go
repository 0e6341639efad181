package ratelimiting_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testnode"
)

// TestResponseRateLimiting: the upstream reports usage in x-kong-limit;
// the node counts it, sends Kong's headers, strips the upstream's header,
// and refuses with a bodiless 429 a response using a spent limit.
func TestResponseRateLimiting(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Kong-Limit", "videos="+r.URL.Query().Get("n"))
		io.WriteString(w, "video")
	}))
	t.Cleanup(up.Close)
	n := testnode.Start(t, nil)
	a := admin{t, "http://" + n.Addr("admin")}
	a.form("POST", "/services", 201, "name=s", "url=http://"+up.Listener.Addr().String())
	a.form("POST", "/services/s/routes", 201, "name=r", "paths=/v")
	a.form("POST", "/routes/r/plugins", 201, "name=response-ratelimiting", "config.limits.videos.hour=3")
	waitHeader(t, n, "/v?n=0", "X-RateLimit-Limit-videos-hour", "3")
	for i, step := range []struct {
		n, status                  int
		remainingBefore, remaining string
		body                       string
	}{
		{2, 200, "3", "1", "video"},
		{1, 200, "1", "0", "video"},
		{1, 429, "0", "0", ""},
		{0, 200, "0", "0", "video"},
	} {
		res, err := http.Get("http://" + n.Addr("proxy") + "/v?n=" + string(rune('0'+step.n)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		h := res.Header
		if res.StatusCode != step.status || string(body) != step.body ||
			h.Get("X-RateLimit-Remaining-videos") != step.remainingBefore ||
			h.Get("X-RateLimit-Remaining-videos-hour") != step.remaining || h.Get("X-RateLimit-Limit-videos-hour") != "3" ||
			h.Get("X-Kong-Limit") != "" {
			t.Errorf("step %d: %d %q headers %v", i+1, res.StatusCode, body, h)
		}
	}
}

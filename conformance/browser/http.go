package browser

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Client sends the tests' own HTTP calls (the Admin API, the portal API,
// the proxy) over keep-alive connections. Header is added to every call
// (e.g. Kong-Admin-Token). TLS certificates are not verified: the node's
// listeners use a self-signed one, as the training's curl --insecure.
type Client struct {
	t      testing.TB
	Base   string // prepended to paths that do not start with http
	Header map[string]string
	HTTP   *http.Client
}

// NewClient is a Client for base (e.g. "http://127.0.0.1:8001"); its idle
// connections are closed when the test ends.
func NewClient(t testing.TB, base string) *Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // self-signed test listeners
	t.Cleanup(tr.CloseIdleConnections)
	return &Client{t: t, Base: base, HTTP: &http.Client{Timeout: 20 * time.Second, Transport: tr}}
}

// Answer is one HTTP answer.
type Answer struct {
	Status  int
	Body    []byte
	Header  http.Header
	Cookies []*http.Cookie
}

// JSON decodes the answer as a JSON object, failing the test if it is not.
func (a Answer) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Body, &m); err != nil {
		t.Fatalf("JSON answer (%d): %v\n%s", a.Status, err, a.Body)
	}
	return m
}

// Decode decodes the answer's JSON body into out.
func (a Answer) Decode(t testing.TB, out any) {
	t.Helper()
	if err := json.Unmarshal(a.Body, out); err != nil {
		t.Fatalf("JSON answer (%d): %v\n%s", a.Status, err, a.Body)
	}
}

// Form is a multipart/form-data body, as curl -F sends.
type Form struct {
	Data        []byte
	ContentType string
}

// Multipart builds a Form from fields and files (sent as <name>.yml).
func Multipart(fields map[string]string, files map[string][]byte) (Form, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			return Form{}, fmt.Errorf("multipart field %s: %w", k, err)
		}
	}
	for k, v := range files {
		fw, err := mw.CreateFormFile(k, k+".yml")
		if err == nil {
			_, err = fw.Write(v)
		}
		if err != nil {
			return Form{}, fmt.Errorf("multipart file %s: %w", k, err)
		}
	}
	if err := mw.Close(); err != nil {
		return Form{}, fmt.Errorf("multipart: %w", err)
	}
	return Form{Data: buf.Bytes(), ContentType: mw.FormDataContentType()}, nil
}

// encode turns a body into a reader and its content type: nil (none),
// url.Values (a form), Form (multipart), []byte or string (as is, no
// content type), anything else JSON.
func encode(body any) (io.Reader, string, error) {
	switch b := body.(type) {
	case nil:
		return nil, "", nil
	case url.Values:
		return strings.NewReader(b.Encode()), "application/x-www-form-urlencoded", nil
	case Form:
		return bytes.NewReader(b.Data), b.ContentType, nil
	case []byte:
		return bytes.NewReader(b), "", nil
	case string:
		return strings.NewReader(b), "", nil
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, "", fmt.Errorf("JSON body: %w", err)
		}
		return bytes.NewReader(data), "application/json", nil
	}
}

// Try sends one request and returns its answer or the error.
func (c *Client) Try(method, path string, body any, header map[string]string) (Answer, error) {
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = c.Base + path
	}
	r, ctype, err := encode(body)
	if err != nil {
		return Answer{}, err
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		return Answer{}, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range c.Header {
		req.Header.Set(k, v)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return Answer{}, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return Answer{}, fmt.Errorf("%s %s: reading the answer: %w", method, u, err)
	}
	return Answer{Status: res.StatusCode, Body: data, Header: res.Header, Cookies: res.Cookies()}, nil
}

// Do is Try that fails the test on a transport error.
func (c *Client) Do(method, path string, body any, header map[string]string) Answer {
	c.t.Helper()
	a, err := c.Try(method, path, body, header)
	if err != nil {
		c.t.Fatal(err)
	}
	return a
}

// Must is Do that fails the test unless the status is want; it returns
// the answer's JSON object (nil for an empty body).
func (c *Client) Must(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	a := c.Do(method, path, body, nil)
	if a.Status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, a.Status, want, a.Body)
	}
	if len(bytes.TrimSpace(a.Body)) == 0 {
		return nil
	}
	return a.JSON(c.t)
}

// Eventually polls call until ok holds (the node applies configuration
// changes asynchronously), for at most 30 s, and returns that answer.
func (c *Client) Eventually(what string, call func() (Answer, error), ok func(Answer) bool) Answer {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, err := call()
		if err == nil && ok(a) {
			return a
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: last answer %d %s (%v)", what, a.Status, a.Body, err)
		}
		time.Sleep(pollEvery)
	}
}

// WaitStatus polls GET path with header until it answers want and returns
// that answer.
func (c *Client) WaitStatus(path string, header map[string]string, want int) Answer {
	c.t.Helper()
	return c.Eventually(fmt.Sprintf("GET %s → %d", path, want), func() (Answer, error) {
		return c.Try(http.MethodGet, path, nil, header)
	}, func(a Answer) bool { return a.Status == want })
}

// Basic is an Authorization header value for HTTP basic authentication.
func Basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// Server is what the GUIs' apps (fiber) offer to be served on a listener.
type Server interface {
	Listener(net.Listener) error
	Shutdown() error
}

// Serve serves s on 127.0.0.1, port 0, until the test ends, and returns
// its base URL (http://127.0.0.1:port).
func Serve(t testing.TB, s Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Listener(ln) }()
	t.Cleanup(func() {
		if err := s.Shutdown(); err != nil {
			t.Errorf("shutdown of %s: %v", ln.Addr(), err)
		}
		<-done
	})
	return "http://" + ln.Addr().String()
}

// FreeAddr reserves a loopback address for a listener whose origin must
// be known before the node starts (portal_gui_host names the portal
// GUI's origin for the portal API's CORS).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// Port is the port of host:port.
func Port(t testing.TB, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("port of %q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("port of %q: %v", addr, err)
	}
	return n
}

// Package httplog is Gatehouse's native http-log plugin, compatible with
// Kong 3.9's: the log phase serializes each request as Kong's log record
// (kong.log.serialize) and queues it; a background queue sends the
// entries, batched, to an HTTP endpoint, retrying failures with backoff.
// The request never waits for the endpoint; entries that do not fit the
// bounded queue, or whose batch keeps failing, are dropped and counted.
// See README.md.
package httplog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/pluginkit"
	prom "github.com/prometheus/client_golang/prometheus"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "http-log"
	Priority = 12
	Version  = plugin.BundledVersion
)

// Config is the plugin's configuration, decoded from its schema.
type Config struct {
	HTTPEndpoint string            `config:"http_endpoint"`
	Method       string            `config:"method"`
	ContentType  string            `config:"content_type"`
	Timeout      float64           `config:"timeout"`
	Keepalive    float64           `config:"keepalive"`
	RetryCount   *int64            `config:"retry_count"`
	QueueSize    *int64            `config:"queue_size"`
	FlushTimeout *float64          `config:"flush_timeout"`
	Headers      map[string]string `config:"headers"`
	Queue        QueueConfig       `config:"queue"`
	// CustomFieldsByLua holds Lua expressions: refused, the native plugin
	// runs no Lua (use kong.log.set_serialize_value from a plugin instead).
	CustomFieldsByLua map[string]string `config:"custom_fields_by_lua"`
}

// ErrLuaFields refuses custom_fields_by_lua.
var ErrLuaFields = errors.New("custom_fields_by_lua is not supported: Gatehouse's native log plugins run no Lua code; set fields with kong.log.set_serialize_value from a plugin instead")

var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseLog},
	Schema:   Schema(),
}, func(c Config) (any, error) { return NewPlugin(c) })

func init() { plugin.Register(definition) }

// checkConfig is the schema's custom_validator: no Authorization header
// with user info in the URL.
func checkConfig(m map[string]any) []string {
	ep, _ := m["http_endpoint"].(string)
	u, err := url.Parse(ep)
	if err != nil || u.User == nil {
		return nil
	}
	if hs, ok := m["headers"].(map[string]any); ok {
		for h := range hs {
			if http.CanonicalHeaderKey(h) == "Authorization" {
				return []string{"specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed"}
			}
		}
	}
	return nil
}

// ParseConfig decodes a configuration map with the schema's defaults.
func ParseConfig(m map[string]any) (Config, error) { return plugin.DecodeAs[Config](definition, m) }

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// Dropped counts the log entries http-log dropped, by reason:
// "queue_full" or "retries_exhausted". It is registered with the
// Prometheus default registry, which /metrics serves.
var Dropped = prom.NewCounterVec(prom.CounterOpts{Name: "kong_http_log_dropped_entries_total",
	Help: "Log entries http-log dropped: the queue was full, or the endpoint kept failing (Gatehouse)"},
	[]string{"reason"})

func init() { prom.MustRegister(Dropped) }

// Queues are shared by the instances with the same endpoint settings, as
// Kong names them (make_queue_name).
var (
	queuesMu sync.Mutex
	queues   = map[string]*Queue{}
)

// Plugin is one configured http-log instance; safe for concurrent use.
type Plugin struct {
	conf  Config
	queue *Queue
}

// NewPlugin creates an instance, joining (or creating) its queue.
func NewPlugin(c Config) (*Plugin, error) {
	if len(c.CustomFieldsByLua) > 0 {
		return nil, ErrLuaFields
	}
	u, err := url.Parse(c.HTTPEndpoint)
	if err != nil {
		return nil, fmt.Errorf("http-log: http_endpoint: %w", err)
	}
	c.Queue = legacyQueueParams(c)
	name := fmt.Sprintf("%s:%s:%s:%v:%v:%v:%v:%v|%+v|%v", c.HTTPEndpoint, c.Method, c.ContentType, c.Timeout,
		c.Keepalive, deref(c.RetryCount), deref(c.QueueSize), deref(c.FlushTimeout), queueKey(c.Queue), c.Headers)
	queuesMu.Lock()
	defer queuesMu.Unlock()
	q := queues[name]
	if q == nil {
		s := newSender(c, u)
		q = NewQueue(c.Queue, s.send, func(n int, reason string) { Dropped.WithLabelValues(reason).Add(float64(n)) })
		queues[name] = q
	}
	return &Plugin{conf: c, queue: q}, nil
}

// legacyQueueParams applies the deprecated queue_size and flush_timeout
// to the queue as Kong's Queue.get_plugin_params does: a value other than
// the old default wins over queue.max_batch_size and
// queue.max_coalescing_delay (retry_count no longer does anything).
func legacyQueueParams(c Config) QueueConfig {
	q := c.Queue
	if c.QueueSize != nil && *c.QueueSize != 1 {
		q.MaxBatchSize = *c.QueueSize
	}
	if c.FlushTimeout != nil && *c.FlushTimeout != 2 {
		q.MaxCoalescingDelay = *c.FlushTimeout
	}
	return q
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func queueKey(q QueueConfig) string {
	return fmt.Sprintf("%d/%v/%d/%v/%v/%v/%v/%d", q.MaxBatchSize, q.MaxCoalescingDelay, q.MaxEntries,
		deref(q.MaxBytes), q.MaxRetryTime, q.InitialRetryDelay, q.MaxRetryDelay, q.ConcurrencyLimit)
}

// Log implements hostabi.LogPhaser: it serializes the request and queues
// it; it never waits for the endpoint.
func (p *Plugin) Log(k hostabi.Kong) error {
	b, err := pluginkit.LogRecordJSON(k)
	if err != nil {
		return fmt.Errorf("http-log: %w", err)
	}
	p.queue.Add(b)
	return nil
}

// Queue is the instance's queue (shared with same-endpoint instances).
func (p *Plugin) Queue() *Queue { return p.queue }

// sender posts batches to the endpoint.
type sender struct {
	conf   Config
	target string
	auth   string
	client *http.Client
}

func newSender(c Config, u *url.URL) *sender {
	s := &sender{conf: c}
	if u.User != nil {
		s.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.String()))
		uu := *u
		uu.User = nil
		u = &uu
	}
	if u.Path == "" {
		u.Path = "/"
	}
	s.target = u.String()
	timeout := time.Duration(c.Timeout * float64(time.Millisecond))
	tr := &http.Transport{
		DialContext:     (&net.Dialer{Timeout: timeout}).DialContext,
		IdleConnTimeout: time.Duration(c.Keepalive * float64(time.Millisecond)),
		// Kong's http-log sends with ssl_verify = false.
		TLSClientConfig:     insecureTLS(),
		MaxIdleConnsPerHost: 4,
	}
	s.client = &http.Client{Transport: tr, Timeout: timeout}
	return s
}

// send posts one batch: a single entry as is when max_batch_size is 1,
// else a JSON array of the entries.
func (s *sender) send(batch [][]byte) error {
	var body []byte
	if s.conf.Queue.MaxBatchSize == 1 && len(batch) == 1 {
		body = batch[0]
	} else {
		body = append([]byte{'['}, bytes.Join(batch, []byte{','})...)
		body = append(body, ']')
	}
	req, err := http.NewRequest(s.conf.Method, s.target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("http-log: %w", err)
	}
	req.Header.Set("Content-Type", s.conf.ContentType)
	if s.auth != "" {
		req.Header.Set("Authorization", s.auth)
	}
	for h, v := range s.conf.Headers {
		if req.Header.Get(h) == "" {
			req.Header.Set(h, v)
		}
	}
	res, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("failed request to %s: %w", req.URL.Host, err)
	}
	defer res.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode >= 300 {
		return fmt.Errorf("request to %s returned status code %d and body %s", req.URL.Host, res.StatusCode, rb)
	}
	return nil
}

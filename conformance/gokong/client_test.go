package gokong_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// The Admin API client below reproduces, on the wire, what Kong's Go client
// github.com/kong/go-kong does (the module proxy serves no version of it to
// this project, so its requests are rebuilt here from its source): JSON
// bodies marshalled from structs of pointer fields with omitempty; Create
// with an ID set is `PUT /{entities}/{id}` (credentials:
// `PUT /consumers/{c}/{type}/{id}`), without one `POST`; Update is
// `PATCH /{entities}/{id}`; targets are always POSTed under their upstream,
// their id in the body; a status outside 2xx is an error.

// Service is go-kong's kong.Service (the fields this test uses).
type Service struct {
	ID             *string  `json:"id,omitempty"`
	Name           *string  `json:"name,omitempty"`
	Host           *string  `json:"host,omitempty"`
	Port           *int     `json:"port,omitempty"`
	Path           *string  `json:"path,omitempty"`
	Protocol       *string  `json:"protocol,omitempty"`
	Retries        *int     `json:"retries,omitempty"`
	ConnectTimeout *int     `json:"connect_timeout,omitempty"`
	ReadTimeout    *int     `json:"read_timeout,omitempty"`
	WriteTimeout   *int     `json:"write_timeout,omitempty"`
	Enabled        *bool    `json:"enabled,omitempty"`
	Tags           []string `json:"tags,omitempty"`
	CreatedAt      *int     `json:"created_at,omitempty"`
	UpdatedAt      *int     `json:"updated_at,omitempty"`
}

// Route is go-kong's kong.Route.
type Route struct {
	ID           *string   `json:"id,omitempty"`
	Name         *string   `json:"name,omitempty"`
	Paths        []*string `json:"paths,omitempty"`
	Hosts        []*string `json:"hosts,omitempty"`
	Methods      []*string `json:"methods,omitempty"`
	Protocols    []*string `json:"protocols,omitempty"`
	StripPath    *bool     `json:"strip_path,omitempty"`
	PreserveHost *bool     `json:"preserve_host,omitempty"`
	Service      *Service  `json:"service,omitempty"`
	Tags         []*string `json:"tags,omitempty"`
}

// Consumer is go-kong's kong.Consumer.
type Consumer struct {
	ID       *string `json:"id,omitempty"`
	Username *string `json:"username,omitempty"`
	CustomID *string `json:"custom_id,omitempty"`
}

// Plugin is go-kong's kong.Plugin.
type Plugin struct {
	ID        *string        `json:"id,omitempty"`
	Name      *string        `json:"name,omitempty"`
	Route     *Route         `json:"route,omitempty"`
	Service   *Service       `json:"service,omitempty"`
	Consumer  *Consumer      `json:"consumer,omitempty"`
	Config    map[string]any `json:"config,omitempty"`
	Enabled   *bool          `json:"enabled,omitempty"`
	Protocols []*string      `json:"protocols,omitempty"`
}

// KeyAuth is go-kong's kong.KeyAuth.
type KeyAuth struct {
	ID       *string   `json:"id,omitempty"`
	Key      *string   `json:"key,omitempty"`
	Consumer *Consumer `json:"consumer,omitempty"`
}

// Upstream is go-kong's kong.Upstream.
type Upstream struct {
	ID    *string `json:"id,omitempty"`
	Name  *string `json:"name,omitempty"`
	Slots *int    `json:"slots,omitempty"`
}

// Target is go-kong's kong.Target.
type Target struct {
	ID       *string   `json:"id,omitempty"`
	Target   *string   `json:"target,omitempty"`
	Weight   *int      `json:"weight,omitempty"`
	Upstream *Upstream `json:"upstream,omitempty"`
}

// Certificate is go-kong's kong.Certificate.
type Certificate struct {
	ID   *string `json:"id,omitempty"`
	Cert *string `json:"cert,omitempty"`
	Key  *string `json:"key,omitempty"`
}

// SNI is go-kong's kong.SNI.
type SNI struct {
	ID          *string      `json:"id,omitempty"`
	Name        *string      `json:"name,omitempty"`
	Certificate *Certificate `json:"certificate,omitempty"`
}

// CACertificate is go-kong's kong.CACertificate.
type CACertificate struct {
	ID   *string `json:"id,omitempty"`
	Cert *string `json:"cert,omitempty"`
}

// String, Int and Bool are go-kong's kong.String, kong.Int and kong.Bool.
func String(s string) *string { return &s }
func Int(i int) *int          { return &i }
func Bool(b bool) *bool       { return &b }

// StringSlice is go-kong's kong.StringSlice.
func StringSlice(ss ...string) []*string {
	out := make([]*string, len(ss))
	for i := range ss {
		out[i] = &ss[i]
	}
	return out
}

// APIError is go-kong's kong.APIError.
type APIError struct {
	Code    int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP status %d (message: %q)", e.Code, e.Message)
}

// Client is go-kong's kong.Client: one base URL over one *http.Client.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient is go-kong's kong.NewClient.
func NewClient(base string, hc *http.Client) *Client { return &Client{base: base, hc: hc} }

// Do sends body (nil for none) as JSON and decodes a 2xx answer into out.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "go-kong/conformance")
	res, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		var m struct{ Message string }
		json.Unmarshal(raw, &m)
		if m.Message == "" {
			m.Message = string(raw)
		}
		return &APIError{Code: res.StatusCode, Message: m.Message}
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// create is go-kong's Create: PUT by id when the id is set, else POST.
func create[T any](ctx context.Context, c *Client, collection string, id *string, v *T) (*T, error) {
	method, path := http.MethodPost, collection
	if id != nil {
		method, path = http.MethodPut, collection+"/"+*id
	}
	out := new(T)
	if err := c.Do(ctx, method, path, v, out); err != nil {
		return nil, err
	}
	return out, nil
}

func update[T any](ctx context.Context, c *Client, collection string, id *string, v *T) (*T, error) {
	out := new(T)
	if err := c.Do(ctx, http.MethodPatch, collection+"/"+*id, v, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) delete(ctx context.Context, path string) error {
	return c.Do(ctx, http.MethodDelete, path, nil, nil)
}

// The entity services, named as in go-kong (client.Services.Create, ...).

func (c *Client) CreateService(ctx context.Context, s *Service) (*Service, error) {
	return create(ctx, c, "/services", s.ID, s)
}
func (c *Client) UpdateService(ctx context.Context, s *Service) (*Service, error) {
	return update(ctx, c, "/services", s.ID, s)
}
func (c *Client) DeleteService(ctx context.Context, id string) error {
	return c.delete(ctx, "/services/"+id)
}
func (c *Client) CreateRoute(ctx context.Context, r *Route) (*Route, error) {
	return create(ctx, c, "/routes", r.ID, r)
}
func (c *Client) UpdateRoute(ctx context.Context, r *Route) (*Route, error) {
	return update(ctx, c, "/routes", r.ID, r)
}
func (c *Client) DeleteRoute(ctx context.Context, id string) error {
	return c.delete(ctx, "/routes/"+id)
}
func (c *Client) CreateConsumer(ctx context.Context, v *Consumer) (*Consumer, error) {
	return create(ctx, c, "/consumers", v.ID, v)
}
func (c *Client) DeleteConsumer(ctx context.Context, id string) error {
	return c.delete(ctx, "/consumers/"+id)
}
func (c *Client) CreatePlugin(ctx context.Context, p *Plugin) (*Plugin, error) {
	return create(ctx, c, "/plugins", p.ID, p)
}
func (c *Client) UpdatePlugin(ctx context.Context, p *Plugin) (*Plugin, error) {
	return update(ctx, c, "/plugins", p.ID, p)
}
func (c *Client) DeletePlugin(ctx context.Context, id string) error {
	return c.delete(ctx, "/plugins/"+id)
}
func (c *Client) CreateKeyAuth(ctx context.Context, consumer string, k *KeyAuth) (*KeyAuth, error) {
	return create(ctx, c, "/consumers/"+consumer+"/key-auth", k.ID, k)
}
func (c *Client) DeleteKeyAuth(ctx context.Context, consumer, id string) error {
	return c.delete(ctx, "/consumers/"+consumer+"/key-auth/"+id)
}
func (c *Client) CreateUpstream(ctx context.Context, u *Upstream) (*Upstream, error) {
	return create(ctx, c, "/upstreams", u.ID, u)
}
func (c *Client) CreateTarget(ctx context.Context, upstream string, t *Target) (*Target, error) {
	return create(ctx, c, "/upstreams/"+upstream+"/targets", nil, t)
}
func (c *Client) DeleteTarget(ctx context.Context, upstream, target string) error {
	return c.delete(ctx, "/upstreams/"+upstream+"/targets/"+target)
}
func (c *Client) CreateCertificate(ctx context.Context, v *Certificate) (*Certificate, error) {
	return create(ctx, c, "/certificates", v.ID, v)
}
func (c *Client) CreateSNI(ctx context.Context, v *SNI) (*SNI, error) {
	return create(ctx, c, "/snis", v.ID, v)
}
func (c *Client) CreateCACertificate(ctx context.Context, v *CACertificate) (*CACertificate, error) {
	return create(ctx, c, "/ca_certificates", v.ID, v)
}

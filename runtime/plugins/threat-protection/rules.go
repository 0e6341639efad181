package threatprotection

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"mime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/threat"
	"github.com/gatehouse/gatehouse/runtime/threat/scan"
)

// Rule is one element of config.rules.
type Rule struct {
	Name    string   `config:"name"`
	Action  string   `config:"action"`
	Message string   `config:"message"`
	Paths   []string `config:"paths"`
	Filters Filters  `config:"filters"`
}

// Filters are a rule's filters; nil records are off.
type Filters struct {
	MaxBodySize       int           `config:"max_body_size"`
	JSON              *JSONFilter   `config:"json"`
	XML               *XMLFilter    `config:"xml"`
	SQLInjection      *SQLInjection `config:"sql_injection"`
	RequireCredential bool          `config:"require_credential"`
}

// JSONFilter is the json filter's limits.
type JSONFilter struct {
	MaxContainerDepth  int `config:"max_container_depth"`
	MaxObjectEntries   int `config:"max_object_entries"`
	MaxEntryNameLength int `config:"max_entry_name_length"`
	MaxArrayElements   int `config:"max_array_elements"`
	MaxStringLength    int `config:"max_string_length"`
}

// XMLFilter is the xml filter's limits.
type XMLFilter struct {
	MaxNamespacePrefixLength int `config:"max_namespace_prefix_length"`
	MaxNamespaceURILength    int `config:"max_namespace_uri_length"`
	MaxNamespacesPerElement  int `config:"max_namespaces_per_element"`
	MaxChildCount            int `config:"max_child_count"`
	MaxElementNameLength     int `config:"max_element_name_length"`
	MaxNodeDepth             int `config:"max_node_depth"`
	MaxAttributeNameLength   int `config:"max_attribute_name_length"`
	MaxAttributeValueLength  int `config:"max_attribute_value_length"`
	MaxAttributesPerElement  int `config:"max_attributes_per_element"`
	MaxTextLength            int `config:"max_text_length"`
	MaxCommentLength         int `config:"max_comment_length"`
	MaxPITargetLength        int `config:"max_pi_target_length"`
	MaxPIDataLength          int `config:"max_pi_data_length"`
}

// SQLInjection is the sql_injection filter.
type SQLInjection struct {
	Parameters []string `config:"parameters"`
}

// Filter names, as events and the policy name them.
const (
	filterBodySize   = "max_body_size"
	filterJSON       = "json"
	filterXML        = "xml"
	filterSQL        = "sql_injection"
	filterCredential = "require_credential"
)

// rule is a compiled rule.
type rule struct {
	index     int // in config.rules: the policy's input.violation.rule
	name      string
	deny      bool
	paths     []string
	maxBody   int64 // < 0: unlimited
	json      *scan.JSONLimits
	xml       *scan.XMLLimits
	sql       bool
	sqlParams []string // empty: every parameter
	cred      bool
}

func (r *rule) filters() []string {
	var out []string
	if r.maxBody >= 0 {
		out = append(out, filterBodySize)
	}
	if r.json != nil {
		out = append(out, filterJSON)
	}
	if r.xml != nil {
		out = append(out, filterXML)
	}
	if r.sql {
		out = append(out, filterSQL)
	}
	if r.cred {
		out = append(out, filterCredential)
	}
	return out
}

func (r *rule) needsBody() bool { return r.maxBody >= 0 || r.json != nil || r.xml != nil || r.sql }

func ruleKey(index int, filter string) string { return "rule/" + strconv.Itoa(index) + "/" + filter }

// compileRules orders the rules: deny rules first, then alert rules, each
// in configuration order.
func compileRules(rs []Rule) []*rule {
	var deny, alert []*rule
	for i, c := range rs {
		r := &rule{index: i, name: c.Name, deny: c.Action != "alert", paths: c.Paths, maxBody: int64(c.Filters.MaxBodySize),
			cred: c.Filters.RequireCredential}
		if r.maxBody <= 0 {
			r.maxBody = -1 // -1, 0 or absent: unlimited
		}
		if j := c.Filters.JSON; j != nil {
			r.json = &scan.JSONLimits{MaxContainerDepth: j.MaxContainerDepth, MaxObjectEntries: j.MaxObjectEntries,
				MaxEntryNameLength: j.MaxEntryNameLength, MaxArrayElements: j.MaxArrayElements, MaxStringLength: j.MaxStringLength}
		}
		if x := c.Filters.XML; x != nil {
			r.xml = &scan.XMLLimits{MaxNamespacePrefixLength: x.MaxNamespacePrefixLength, MaxNamespaceURILength: x.MaxNamespaceURILength,
				MaxNamespacesPerElement: x.MaxNamespacesPerElement, MaxChildCount: x.MaxChildCount, MaxElementNameLength: x.MaxElementNameLength,
				MaxNodeDepth: x.MaxNodeDepth, MaxAttributeNameLength: x.MaxAttributeNameLength, MaxAttributeValueLength: x.MaxAttributeValueLength,
				MaxAttributesPerElement: x.MaxAttributesPerElement, MaxTextLength: x.MaxTextLength, MaxCommentLength: x.MaxCommentLength,
				MaxPITargetLength: x.MaxPITargetLength, MaxPIDataLength: x.MaxPIDataLength}
		}
		if s := c.Filters.SQLInjection; s != nil {
			r.sql, r.sqlParams = true, s.Parameters
		}
		if r.deny {
			deny = append(deny, r)
		} else {
			alert = append(alert, r)
		}
	}
	return append(deny, alert...)
}

func (r *rule) matches(path string) bool {
	if len(r.paths) == 0 {
		return true
	}
	for _, p := range r.paths {
		if scan.Glob(p, path) {
			return true
		}
	}
	return false
}

// bodyKind tells the JSON and XML bodies apart by Content-Type.
func bodyKind(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return filterJSON
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return filterXML
	}
	return ""
}

// hasCredential: the request carries a credential an auth plugin reads
// (checked before authentication runs).
func hasCredential(req hostabi.Request) bool {
	if req.Header("authorization") != "" || req.Header("proxy-authorization") != "" || req.Header("apikey") != "" {
		return true
	}
	_, ok := req.QueryArg("apikey")
	return ok
}

// maxBuffered is the largest body (by its Content-Length) the rules read
// whole; the proxy streams larger ones (proxy.StreamThreshold).
const maxBuffered = 1 << 20

// reqInfo is what an event records of the request.
type reqInfo struct{ ip, host, path, method string }

// violation applies the policy's decision for a rule's violation: an
// alert records the event (false); a deny records it and returns the
// decision (true).
func (p *Plugin) violation(k hostabi.Kong, info reqInfo, r *rule, filter, detail string) (Decision, bool, error) {
	d, err := p.lookup(ruleKey(r.index, filter))
	if err != nil {
		return d, false, err
	}
	ev := p.events.Record(threat.Event{Rule: d.Rule, Filter: d.Filter, Action: d.Action, Status: statusOf(d),
		Message: d.Message, ClientIP: info.ip, Host: info.host, Path: info.path, Method: info.method})
	kv := []any{"rule", ev.Rule, "filter", ev.Filter, "action", ev.Action, "detail", detail,
		"client_ip", info.ip, "host", info.host, "path", info.path, "method", info.method}
	if k != nil {
		k.Log().Warn("threat: rule violated", kv...)
	} else {
		// A streamed body's violation, after the access phase.
		slog.Warn("threat: rule violated", append([]any{"plugin", Name}, kv...)...)
	}
	return d, d.Action == threat.ActionDeny, nil
}

func statusOf(d Decision) int {
	if d.Action == threat.ActionDeny {
		return d.Status
	}
	return 0
}

// checkRules runs the rules over the request: per rule in order, the
// request's own facts, then its body when the body is read whole; a
// streamed body is checked as it goes upstream (bodyTap).
func (p *Plugin) checkRules(k hostabi.Kong, ip string) error {
	req := k.Request()
	info := reqInfo{ip: ip, host: req.Host(), path: req.Path(), method: req.Method()}
	var matched []*rule
	needBody := false
	for _, r := range p.rules {
		if r.matches(info.path) {
			matched = append(matched, r)
			needBody = needBody || r.needsBody()
		}
	}
	if len(matched) == 0 {
		return nil
	}
	var (
		body     []byte
		streamed bool
		tap      *bodyTap
	)
	kind := bodyKind(req.Header("content-type"))
	declared := int64(-1)
	if cl := req.Header("content-length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			declared = n
		}
	}
	if needBody {
		tap = &bodyTap{p: p, info: info}
		// A body of a known, small length is read whole (every check runs
		// here, in rule order); a larger or chunked one is checked as it
		// streams upstream.
		small := declared >= 0 && declared <= maxBuffered
		if t, ok := req.(threat.BodyTapper); ok && !small && t.TapBody(tap) {
			streamed = true
		} else {
			tap = nil
			var err error
			if body, err = req.RawBody(); err != nil {
				return err
			}
		}
	}
	length := int64(len(body))
	if streamed {
		length = declared
	}
	for _, r := range matched {
		for _, f := range r.filters() {
			hit, detail := false, ""
			switch f {
			case filterCredential:
				hit, detail = !hasCredential(req), "no credential"
			case filterBodySize:
				if length > r.maxBody {
					hit, detail = true, "body of "+strconv.FormatInt(length, 10)+" bytes"
				} else if streamed && length < 0 {
					tap.add(r, f)
				}
			case filterSQL:
				hit, detail = sqlHit(r, req.Query(), req.Header("content-type"), body)
			case filterJSON, filterXML:
				if kind != f {
					continue
				}
				if streamed {
					tap.add(r, f)
					continue
				}
				var v *scan.Violation
				var err error
				if f == filterJSON {
					v, err = scan.ScanJSON(bytes.NewReader(body), *r.json)
				} else {
					v, err = scan.ScanXML(bytes.NewReader(body), *r.xml)
				}
				if err != nil {
					return err
				}
				if v != nil {
					hit, detail = true, v.Message
				}
			}
			if !hit {
				continue
			}
			d, deny, err := p.violation(k, info, r, f, detail)
			if err != nil {
				return err
			}
			if deny {
				k.Ctx().Plugin().Set(ctxDenied, true)
				k.Response().Error(d.Status, d.Message, nil)
				return nil
			}
			break // one alert per rule and request
		}
	}
	if tap != nil {
		if err := tap.start(); err != nil {
			return err
		}
	}
	return nil
}

// sqlHit looks for SQL injection in the rule's parameters (a configured
// name selects that parameter and, for a JSON object, the leaves under
// it: scan.MatchParam).
func sqlHit(r *rule, query map[string][]string, contentType string, body []byte) (bool, string) {
	if v := scan.CheckSQLInjection(query, contentType, body, r.sqlParams, 0); v != nil {
		return true, v.Message
	}
	return false, ""
}

// bodyTap checks a streamed body as it passes (threat.Tap): a byte count
// for max_body_size, a scanner goroutine fed through a pipe for each json
// or xml filter. Checks run in rule order; the first deny refuses the
// body.
type bodyTap struct {
	p      *Plugin
	info   reqInfo
	checks []*tapCheck
	done   bool
	mu     sync.Mutex
}

type tapCheck struct {
	r      *rule
	filter string
	n      int64
	pw     *io.PipeWriter
	result chan scanResult
	ended  bool // no more input (violation found, alert recorded or closed)
}

type scanResult struct {
	v   *scan.Violation
	err error
}

// scanners counts the scanner goroutines running (tests check none is
// left behind).
var scanners atomic.Int64

// errScanDone stops the writes to a scanner that returned.
var errScanDone = errors.New("threat-protection: scanner done")

func (t *bodyTap) add(r *rule, filter string) {
	t.checks = append(t.checks, &tapCheck{r: r, filter: filter})
}

// start launches the scanners (none when every check was decided before
// the body).
func (t *bodyTap) start() error {
	for _, c := range t.checks {
		if c.filter != filterJSON && c.filter != filterXML {
			continue
		}
		pr, pw := io.Pipe()
		c.pw, c.result = pw, make(chan scanResult, 1)
		scanners.Add(1)
		go func(c *tapCheck) {
			defer scanners.Add(-1)
			var res scanResult
			if c.filter == filterJSON {
				res.v, res.err = scan.ScanJSON(pr, *c.r.json)
			} else {
				res.v, res.err = scan.ScanXML(pr, *c.r.xml)
			}
			pr.CloseWithError(errScanDone)
			c.result <- res
		}(c)
	}
	return nil
}

// outcome turns a check's violation into a refusal (deny) or an event
// (alert).
func (t *bodyTap) outcome(c *tapCheck, detail string) *threat.Refusal {
	c.ended = true
	d, deny, err := t.p.violation(nil, t.info, c.r, c.filter, detail)
	if err != nil {
		return &threat.Refusal{Status: 500, Message: "An unexpected error occurred"}
	}
	if deny {
		return &threat.Refusal{Status: d.Status, Message: d.Message}
	}
	return nil
}

// Write implements threat.Tap.
func (t *bodyTap) Write(p []byte) *threat.Refusal {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nil
	}
	for _, c := range t.checks {
		if c.ended {
			continue
		}
		switch c.filter {
		case filterBodySize:
			c.n += int64(len(p))
			if c.n > c.r.maxBody {
				if r := t.outcome(c, "body over "+strconv.FormatInt(c.r.maxBody, 10)+" bytes"); r != nil {
					t.finish()
					return r
				}
			}
		default:
			if _, err := c.pw.Write(p); err != nil {
				res := <-c.result
				c.pw = nil
				if res.v != nil || res.err != nil {
					if r := t.outcome(c, detailOf(res)); r != nil {
						t.finish()
						return r
					}
				}
				c.ended = true
			}
		}
	}
	return nil
}

func detailOf(res scanResult) string {
	if res.v != nil {
		return res.v.Message
	}
	return res.err.Error()
}

// End implements threat.Tap.
func (t *bodyTap) End(complete bool) *threat.Refusal {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nil
	}
	if !complete {
		t.finish()
		return nil
	}
	var refusal *threat.Refusal
	for _, c := range t.checks {
		if c.ended || c.pw == nil {
			continue
		}
		c.pw.Close()
		res := <-c.result
		c.pw, c.ended = nil, true
		if res.v != nil && refusal == nil {
			refusal = t.outcome(c, detailOf(res))
		}
	}
	t.finish()
	return refusal
}

// finish stops every scanner still running and waits for it.
func (t *bodyTap) finish() {
	t.done = true
	for _, c := range t.checks {
		if c.pw != nil {
			c.pw.CloseWithError(io.ErrUnexpectedEOF)
			<-c.result
			c.pw = nil
		}
		c.ended = true
	}
}

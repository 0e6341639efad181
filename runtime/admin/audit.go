package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// The Admin API audit log (Kong Enterprise's audit_log): when
// Options.Audit.Enabled, every write call (POST, PUT, PATCH, DELETE) and
// every refused call (401/403, see auditRefusal) is recorded in
// /audit/requests, and every entity change the node makes in
// /audit/objects. Records keep the caller (store.Actor), client IP,
// method, path, entity type and id, action, status and a SHA-256 of the
// request body, never the body, query string nor headers, so no token,
// password or key is ever stored. Entity snapshots in /audit/objects lose
// their secret fields first (see redactSecrets). Both endpoints are read
// only: other methods answer 405.

// ResourceAudit is the Call.Entity of /audit/requests and /audit/objects;
// Key is "requests" or "objects".
const ResourceAudit = "/audit"

// RequestIDHeader is the response header carrying the audit record's
// request_id, as Kong Enterprise names it.
const RequestIDHeader = "X-Kong-Admin-Request-ID"

// AuditOptions configure the audit log.
type AuditOptions struct {
	// Enabled is the audit_log setting.
	Enabled bool
	// TTL is audit_log_ttl: how long records are kept (0: forever).
	TTL time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// auditor records the audit log of one Server.
type auditor struct {
	opts  AuditOptions
	store *store.Store
	srv   *Server

	mu        sync.Mutex
	lastPurge time.Time
}

// purgeEvery bounds how often recording a call also purges expired records.
const purgeEvery = time.Minute

func (a *auditor) now() time.Time {
	if a.opts.Now != nil {
		return a.opts.Now()
	}
	return time.Now()
}

func (a *auditor) expiry() time.Time {
	if a.opts.TTL <= 0 {
		return time.Time{}
	}
	return a.now().Add(a.opts.TTL)
}

// startAudit sets up the audit log of s when it is enabled: the endpoints
// and the entity change subscription.
func (s *Server) startAudit() {
	if !s.opts.Audit.Enabled || s.store == nil {
		return
	}
	s.audit = &auditor{opts: s.opts.Audit, store: s.store, srv: s}
	s.store.Bus().Subscribe(s.audit.objectChanged)
}

// routeAudit serves the audit endpoints (404 when the audit log is off, as
// Kong answers them without audit_log).
func (s *Server) routeAudit() {
	if s.audit == nil {
		return
	}
	s.app.Get("/audit/requests", func(c *fiber.Ctx) error { return s.listAudit(c, store.AuditRequests) })
	s.app.Get("/audit/objects", func(c *fiber.Ctx) error { return s.listAudit(c, store.AuditObjects) })
	s.app.All("/audit/requests", otherMethods)
	s.app.All("/audit/objects", otherMethods)
}

// auditCall is the middleware recording audited calls, after they are
// answered.
func (s *Server) auditCall(c *fiber.Ctx) error {
	if s.audit == nil || c.Method() == fiber.MethodOptions {
		return c.Next()
	}
	reqID := uuid.NewString()
	c.Set(RequestIDHeader, reqID)
	c.SetUserContext(store.WithRequestID(c.UserContext(), reqID))
	err := c.Next()
	status := c.Response().StatusCode()
	var fe *fiber.Error
	if errors.As(err, &fe) {
		status = fe.Code
	} else if err != nil {
		status = fiber.StatusInternalServerError
	}
	refused, _ := c.Locals(refusedKey{}).(bool)
	if !isWrite(c.Method()) && !refused && !auditRefusal(status) {
		return err
	}
	s.audit.recordRequest(c, reqID, status)
	return err
}

// isWrite reports whether method writes.
func isWrite(method string) bool {
	switch method {
	case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete:
		return true
	}
	return false
}

// auditRefusal reports whether a status is a refusal recorded even for a
// read: the Identifier's and Authorizer's refusals are recorded whatever
// their status (a team's 404 too, see refusedKey), and a 401 or 403 from
// anywhere else. With RBAC off (AnonymousIdentifier, AllowAll) no read is
// ever recorded.
func auditRefusal(status int) bool {
	return status == fiber.StatusUnauthorized || status == fiber.StatusForbidden
}

// recordRequest stores the audit_requests record of the answered call.
func (a *auditor) recordRequest(c *fiber.Ctx, reqID string, status int) {
	actor := store.ActorFrom(c.UserContext())
	call, known := a.srv.callFor(c.Method(), splitPath(c.Path()))
	path := c.Path()
	secretKey := known && a.srv.secretEndpointKey(call)
	if secretKey {
		path = redactPathKey(path, call.Key)
	}
	rec := map[string]any{
		"request_id":        reqID,
		"request_timestamp": a.now().Unix(),
		"client_ip":         c.IP(),
		"method":            c.Method(),
		"path":              path,
		"status":            status,
		"rbac_user_id":      nilIfEmpty(actor.ID),
		"rbac_user_name":    actor.Name,
	}
	if body := c.Body(); len(body) > 0 {
		sum := sha256.Sum256(body)
		rec["payload_hash"] = hex.EncodeToString(sum[:])
	}
	if known {
		rec["entity_type"] = call.Entity
		rec["action"] = string(call.Operation)
		id := call.Key
		if secretKey {
			id = "" // the key is the secret: only the answer's id is shown
		}
		if status < 300 && c.Method() != fiber.MethodDelete {
			// A write answers the entity: its id, even for a create.
			var out struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(c.Response().Body(), &out) == nil && out.ID != "" {
				id = out.ID
			}
		}
		rec["entity_id"] = nilIfEmpty(id)
	}
	ctx := context.WithoutCancel(c.UserContext())
	if _, err := a.store.RecordAudit(ctx, store.AuditRequests, rec, a.expiry()); err != nil {
		a.srv.log.Error("admin API audit: recording the request failed", "method", c.Method(), "path", path, "error", err)
	}
	a.maybePurge(ctx)
}

// secretEndpointKey reports whether call names its entity by a secret
// (key-auth's key, an oauth2 token's access_token) rather than its id.
func (s *Server) secretEndpointKey(call Call) bool {
	if call.Key == "" || s.store == nil {
		return false
	}
	if _, err := uuid.Parse(call.Key); err == nil {
		return false
	}
	e, ok := s.store.Registry().Entity(call.Entity)
	if !ok || e.EndpointKey == "" {
		return false
	}
	if f := e.Schema.Field(e.EndpointKey); f != nil && (f.Encrypted || f.Sensitive) {
		return true
	}
	return isSecretName(e.EndpointKey)
}

// loggedPath is the request's path as logs may show it: a secret the path
// names an entity by (see secretEndpointKey) is replaced by "{redacted}".
func (s *Server) loggedPath(c *fiber.Ctx) string {
	path := c.Path()
	if call, ok := s.callFor(c.Method(), splitPath(path)); ok && s.secretEndpointKey(call) {
		return redactPathKey(path, call.Key)
	}
	return path
}

// redactPathKey replaces the path segments that are key (once unescaped)
// with "{redacted}".
func redactPathKey(path, key string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if u, err := url.PathUnescape(seg); seg == key || err == nil && u == key {
			segs[i] = "{redacted}"
		}
	}
	return strings.Join(segs, "/")
}

// objectChanged stores the audit_objects record of an entity change this
// node made (changes other nodes made are recorded by them).
func (a *auditor) objectChanged(ev store.Event) {
	if ev.Remote || ev.Op == store.OpReload || ev.Entity == "" {
		return
	}
	ent := ev.New
	if ev.Op == store.OpDelete {
		ent = ev.Old
	}
	key, _ := ent["id"].(string)
	rec := map[string]any{
		"request_id":        nilIfEmpty(ev.RequestID),
		"request_timestamp": a.now().Unix(),
		"dao_name":          ev.Entity,
		"operation":         string(ev.Op),
		"entity_key":        nilIfEmpty(key),
		"rbac_user_id":      nilIfEmpty(ev.Actor.ID),
		"rbac_user_name":    ev.Actor.Name,
	}
	var secretFields map[string]bool
	if e, ok := a.store.Registry().Entity(ev.Entity); ok {
		secretFields = map[string]bool{}
		for _, f := range e.Schema.Fields {
			if f.Encrypted || f.Sensitive {
				secretFields[f.Name] = true
			}
		}
	}
	if ent != nil {
		b, err := json.Marshal(redactSecrets(ent, secretFields))
		if err == nil {
			rec["entity"] = string(b)
		}
	}
	if _, err := a.store.RecordAudit(context.Background(), store.AuditObjects, rec, a.expiry()); err != nil {
		a.srv.log.Error("admin API audit: recording the entity change failed", "entity", ev.Entity, "error", err)
	}
}

// maybePurge deletes expired records, at most once every purgeEvery.
func (a *auditor) maybePurge(ctx context.Context) {
	now := a.now()
	a.mu.Lock()
	due := now.Sub(a.lastPurge) >= purgeEvery
	if due {
		a.lastPurge = now
	}
	a.mu.Unlock()
	if !due {
		return
	}
	if _, err := a.store.PurgeAudit(ctx, now); err != nil {
		a.srv.log.Error("admin API audit: purging expired records failed", "error", err)
	}
}

// secretNames are field names whose values are secrets in any entity or
// plugin configuration, at any depth.
var secretNames = map[string]bool{
	"key": true, "key_alt": true, "password": true, "secret": true, "client_secret": true,
	"token": true, "user_token": true, "access_token": true, "refresh_token": true,
	"private_key": true, "jwk": true, "provision_key": true, "authorization": true,
	"api_key": true, "apikey": true, "credentials": true,
}

// isSecretName reports whether a field name names a secret.
func isSecretName(name string) bool {
	n := strings.ToLower(name)
	return secretNames[n] || strings.Contains(n, "password") || strings.Contains(n, "secret") ||
		strings.Contains(n, "token") || strings.HasSuffix(n, "_key")
}

// redactSecrets returns a copy of rec without its secret fields: the
// schema's encrypted or sensitive top-level fields, and every field named
// like a secret at any depth.
func redactSecrets(rec map[string]any, schemaSecrets map[string]bool) map[string]any {
	out := make(map[string]any, len(rec))
	for k, v := range rec {
		if schemaSecrets[k] || isSecretName(k) {
			continue
		}
		out[k] = redactValue(v)
	}
	return out
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return redactSecrets(t, nil)
	case []any:
		cp := make([]any, len(t))
		for i, x := range t {
			cp[i] = redactValue(x)
		}
		return cp
	}
	return v
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// listAudit answers GET /audit/requests and /audit/objects: Kong's paging
// (size, offset; data, next, offset), `before` and `after` (Unix seconds,
// inclusive) on request_timestamp, and any other query argument as an
// exact field filter (?method=POST&status=201).
func (s *Server) listAudit(c *fiber.Ctx, kind string) error {
	q := store.AuditQuery{Fields: map[string]string{}, Size: 100}
	var bad []string
	for k, v := range c.Queries() {
		switch k {
		case "size":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				bad = append(bad, "size must be an integer between 1 and 1000")
				continue
			}
			q.Size = n
		case "offset":
			q.Offset = v
		case "before", "after":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				bad = append(bad, k+" must be a Unix time in seconds")
				continue
			}
			if k == "before" {
				q.Before = n
			} else {
				q.After = n
			}
		default:
			q.Fields[k] = v
		}
	}
	if len(bad) > 0 {
		return s.json(c, fiber.StatusBadRequest, map[string]any{"message": strings.Join(bad, "; ")})
	}
	page, err := s.store.ListAudit(c.UserContext(), kind, q)
	if err != nil {
		return s.internal(c, err)
	}
	data := page.Data
	if data == nil {
		data = []map[string]any{}
	}
	out := map[string]any{"data": data, "next": nil}
	if page.Offset != "" {
		out["offset"] = page.Offset
		args := url.Values{}
		for k, v := range c.Queries() {
			args.Set(k, v)
		}
		args.Set("offset", page.Offset)
		out["next"] = c.Path() + "?" + args.Encode()
	}
	return s.json(c, fiber.StatusOK, out)
}

package admin

import (
	"context"
	"errors"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// target is what a URL names: a collection or one entity, optionally under a
// parent entity.
type target struct {
	entity *store.Entity
	key    string // "" for a collection
	// parent scope, for nested paths
	parentEntity *store.Entity
	parentKey    string
	parentField  string // the child's foreign key to the parent
	// toOne is set for /routes/{r}/service: the entity a foreign key names.
	toOne *schema.Field
}

// resolve maps path segments onto a target, or reports a 404.
func (s *Server) resolve(segs []string) (*target, bool) {
	reg := s.store.Registry()
	switch len(segs) {
	case 1, 2:
		e, ok := reg.ByPath(segs[0])
		if !ok {
			return nil, false
		}
		t := &target{entity: e}
		if len(segs) == 2 {
			t.key = segs[1]
		}
		return t, true
	case 3, 4:
		parent, ok := reg.ByPath(segs[0])
		if !ok {
			return nil, false
		}
		if len(segs) == 3 {
			// /routes/{r}/service: the entity a foreign key points at.
			// A portal entity (a developer) is never read through another's
			// foreign key: its own handlers hide its secrets.
			if f := parent.Schema.Field(segs[2]); f != nil && f.Type == schema.Foreign && !store.IsPortalEntity(f.Reference) {
				return &target{entity: parent, key: segs[1], toOne: f}, true
			}
		}
		for _, child := range reg.All() {
			if child.NestedSegment() != segs[2] {
				continue
			}
			for _, f := range child.Foreigns() {
				if f.Reference != parent.Name {
					continue
				}
				t := &target{entity: child, parentEntity: parent, parentKey: segs[1], parentField: f.Name}
				if len(segs) == 4 {
					t.key = segs[3]
				}
				return t, true
			}
		}
	}
	return nil, false
}

// splitPath splits a request path into unescaped segments. They are copies:
// a key becomes an entity's id and outlives the request, whose buffers
// fasthttp reuses.
func splitPath(p string) []string {
	p = strings.Clone(strings.Trim(p, "/"))
	if p == "" {
		return nil
	}
	parts := strings.Split(p, "/")
	for i, seg := range parts {
		if u, err := url.PathUnescape(seg); err == nil {
			parts[i] = u
		}
	}
	return parts
}

func (s *Server) dispatch(c *fiber.Ctx) error {
	t, ok := s.resolve(splitPath(c.Path()))
	if !ok {
		return notFound(c)
	}
	typedContext(c)
	ctx := c.UserContext()
	if key, ok := consumerGuarded(t, c.Method()); ok {
		// A portal consumer is not a proxy consumer (portal_apps.go).
		if hidden, err := s.portalConsumer(ctx, key); err != nil {
			return s.fail(c, err)
		} else if hidden {
			return s.json(c, fiber.StatusNotFound, map[string]any{"message": msgConsumerNotFound})
		}
	}
	if t.toOne != nil {
		return s.toOne(c, t)
	}
	if t.parentEntity != nil && t.key == "" && c.Method() == fiber.MethodPost && t.entity.Name != "targets" {
		// A nested create looks its parent up in its own write.
		return s.createUnder(c, t)
	}
	var parent map[string]any
	if t.parentEntity != nil {
		var err error
		parent, err = s.store.Get(ctx, t.parentEntity.Name, t.parentKey)
		if err != nil {
			return s.fail(c, err)
		}
	}
	if t.entity.Name == "targets" && parent != nil && t.key == "all" {
		if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
			return methodNotAllowed(c)
		}
		return s.allTargets(c, t, parent)
	}
	if t.key == "" {
		switch c.Method() {
		case fiber.MethodGet, fiber.MethodHead:
			return s.list(c, t, parent)
		case fiber.MethodPost:
			return s.create(c, t, parent)
		}
		return methodNotAllowed(c)
	}
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead:
		rec, err := s.find(ctx, t, parent)
		if err != nil {
			return s.fail(c, err)
		}
		return s.entityJSON(c, fiber.StatusOK, t.entity, rec)
	case fiber.MethodPatch:
		return s.update(c, t, parent)
	case fiber.MethodPut:
		return s.upsert(c, t, parent)
	case fiber.MethodDelete:
		return s.remove(c, t, parent)
	}
	return methodNotAllowed(c)
}

// find returns the entity a keyed target names, checking it belongs to the
// parent of a nested path.
func (s *Server) find(ctx context.Context, t *target, parent map[string]any) (map[string]any, error) {
	if parent != nil && !store.IsUUID(t.key) {
		switch {
		case t.entity.Name == "targets": // /upstreams/{u}/targets/{host:port}
			return s.findChild(ctx, t, parent, "target", store.NormalizeTarget(t.key))
		case t.entity.ParentKey != "": // /consumers/{c}/acls/{group}
			return s.findChild(ctx, t, parent, t.entity.ParentKey, t.key)
		}
	}
	if t.entity.Name == "certificates" && parent == nil && !store.IsUUID(t.key) {
		return s.certificateBySNI(ctx, t.key)
	}
	rec, err := s.store.Get(ctx, t.entity.Name, t.key)
	if err != nil {
		return nil, err
	}
	if parent != nil && foreignID(rec[t.parentField]) != parent["id"] {
		return nil, store.ErrNotFound
	}
	return rec, nil
}

// findChild finds, among the parent's children, the one whose field has
// the value (the lookups Kong offers by group or target instead of id).
func (s *Server) findChild(ctx context.Context, t *target, parent map[string]any, field, value string) (map[string]any, error) {
	offset := ""
	for {
		page, err := s.store.List(ctx, t.entity.Name, store.ListQuery{Size: store.MaxPageSize, Offset: offset,
			ForeignField: t.parentField, ForeignKey: parent["id"].(string)})
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Data {
			if rec[field] == value {
				return rec, nil
			}
		}
		if page.Offset == "" {
			return nil, store.ErrNotFound
		}
		offset = page.Offset
	}
}

// errSNINotFound is Kong's answer to /certificates/{name} for an unknown SNI.
var errSNINotFound = errors.New("SNI not found")

// certificateBySNI serves /certificates/{sni name}: Kong looks the name up
// among the SNIs and answers with their certificate.
func (s *Server) certificateBySNI(ctx context.Context, name string) (map[string]any, error) {
	sni, err := s.store.Get(ctx, "snis", name)
	if store.IsNotFound(err) {
		return nil, errSNINotFound
	}
	if err != nil {
		return nil, err
	}
	return s.store.Get(ctx, "certificates", foreignID(sni["certificate"]))
}

// certificatePut prepares PUT /certificates/{id or SNI name} as Kong's
// certificates route does: a name is the certificate serving that SNI, or a
// new certificate; the name joins the snis the body lists; a PUT without
// snis leaves the certificate with none.
func (s *Server) certificatePut(ctx context.Context, key string, in map[string]any) (string, error) {
	name := ""
	if !store.IsUUID(key) {
		name = key
		cert, err := s.certificateBySNI(ctx, key)
		switch {
		case err == nil:
			key = cert["id"].(string)
		case errors.Is(err, errSNINotFound):
			key = uuid.NewString()
		default:
			return "", err
		}
	}
	switch snis := in["snis"].(type) {
	case []any:
		if name != "" && !slices.Contains(snis, any(name)) {
			in["snis"] = append(snis, name)
		}
	case string:
		in["snis"] = []any{snis}
		if name != "" && name != snis {
			in["snis"] = []any{snis, name}
		}
	case nil:
		in["snis"] = nil
	}
	return key, nil
}

func foreignID(v any) string {
	m, _ := v.(map[string]any)
	id, _ := m["id"].(string)
	return id
}

func pageSize(c *fiber.Ctx) (int, error) {
	raw := c.Query("size")
	if raw == "" {
		if c.Context().QueryArgs().Has("size") {
			// ?size= or ?size: Kong's tonumber of null (or true) fails.
			return 0, store.InvalidSize("size must be a number")
		}
		return 0, nil
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return 0, store.InvalidSize("size must be a number")
	}
	if f != float64(int(f)) || f < 1 || f > store.MaxPageSize {
		return 0, store.InvalidSize("size must be an integer between 1 and 1000")
	}
	return int(f), nil
}

// parseTags reads Kong's ?tags= filter: a,b (all) or a/b (any).
func parseTags(raw string) ([]string, bool, error) {
	if raw == "" {
		return nil, false, nil
	}
	invalid := &store.Error{Code: store.CodeInvalidOptions, Message: "invalid option (tags: invalid filter syntax)",
		Fields: schema.Errors{"tags": "invalid filter syntax"}}
	hasAnd, hasOr := strings.Contains(raw, ","), strings.Contains(raw, "/")
	if hasAnd && hasOr {
		return nil, false, invalid
	}
	sep := ","
	if hasOr {
		sep = "/"
	}
	tags := strings.Split(raw, sep)
	for _, t := range tags {
		if t == "" {
			return nil, false, invalid
		}
		for i := 0; i < len(t); i++ {
			b := t[i]
			if b < 0x20 || b == 0x7f || (b > 0xf4) {
				return nil, false, invalid
			}
		}
	}
	if len(tags) > 5 {
		return nil, false, &store.Error{Code: store.CodeInvalidOptions, Message: "invalid option (tags: cannot query more than 5 tags)",
			Fields: schema.Errors{"tags": "cannot query more than 5 tags"}}
	}
	return tags, hasOr, nil
}

func nextLink(base, offset string, c *fiber.Ctx) string {
	q := url.Values{}
	q.Set("offset", offset)
	if v := c.Query("size"); v != "" {
		q.Set("size", v)
	}
	if v := c.Query("tags"); v != "" {
		q.Set("tags", v)
	}
	return base + "?" + q.Encode()
}

func (s *Server) list(c *fiber.Ctx, t *target, parent map[string]any) error {
	ctx := c.UserContext()
	// Kong's exact-match filters on unique fields: GET /consumers?custom_id=x.
	for _, field := range t.entity.Uniques() {
		if v := c.Query(field); v != "" && field != "id" {
			out := map[string]any{"data": []any{}, "next": nil}
			rec, err := s.store.FindUnique(ctx, t.entity.Name, field, v)
			if err == nil && (parent == nil || foreignID(rec[t.parentField]) == parent["id"]) && s.isVisible(c, t.entity.Name, rec) {
				if t.entity.Name == "consumers" && parent == nil {
					kept, herr := s.withoutPortalConsumers(ctx, []map[string]any{rec})
					if herr != nil {
						return s.fail(c, herr)
					}
					if len(kept) == 0 && field == "custom_id" {
						// Kong EE: a custom_id search finding a
						// non-proxy consumer answers 404.
						return s.json(c, fiber.StatusNotFound, map[string]any{"message": msgConsumerNotFound})
					}
					if len(kept) == 0 {
						return s.json(c, fiber.StatusOK, out)
					}
				}
				out["data"] = []any{rec}
			} else if err != nil && !store.IsNotFound(err) {
				return s.fail(c, err)
			}
			return s.json(c, fiber.StatusOK, out)
		}
	}
	size, err := pageSize(c)
	if err != nil {
		return s.fail(c, err)
	}
	if c.Query("tags") == "" && c.Context().QueryArgs().Has("tags") {
		// Kong: an empty ?tags= is null, not "no filter".
		return s.fail(c, &store.Error{Code: store.CodeInvalidOptions, Message: "invalid option (tags: cannot be null)",
			Fields: schema.Errors{"tags": "cannot be null"}})
	}
	tags, anyTag, err := parseTags(c.Query("tags"))
	if err != nil {
		return s.fail(c, err)
	}
	q := store.ListQuery{Size: size, Offset: c.Query("offset"), Tags: tags, TagsAny: anyTag}
	if parent != nil {
		q.ForeignField, q.ForeignKey = t.parentField, parent["id"].(string)
	}
	page, err := s.store.List(ctx, t.entity.Name, q)
	if err != nil {
		return s.fail(c, err)
	}
	page.Data = s.visible(c, t.entity.Name, page.Data)
	if t.entity.Name == "consumers" && parent == nil {
		if page.Data, err = s.withoutPortalConsumers(ctx, page.Data); err != nil {
			return s.fail(c, err)
		}
	}
	for _, rec := range page.Data {
		if err := s.present(ctx, t.entity, rec); err != nil {
			return s.fail(c, err)
		}
	}
	out := map[string]any{"data": page.Data, "next": nil}
	if page.Offset != "" {
		out["offset"] = page.Offset
		out["next"] = nextLink(c.Path(), page.Offset, c)
	}
	return s.json(c, fiber.StatusOK, out)
}

// allTargets serves GET /upstreams/{u}/targets/all: every target of the
// upstream, paged, filters ignored; next names this path with the offset
// only, as Kong's.
func (s *Server) allTargets(c *fiber.Ctx, t *target, parent map[string]any) error {
	size, err := pageSize(c)
	if err != nil {
		return s.fail(c, err)
	}
	page, err := s.store.List(c.UserContext(), "targets", store.ListQuery{Size: size, Offset: c.Query("offset"),
		ForeignField: t.parentField, ForeignKey: parent["id"].(string)})
	if err != nil {
		return s.fail(c, err)
	}
	page.Data = s.visible(c, "targets", page.Data)
	out := map[string]any{"data": page.Data, "next": nil}
	if page.Offset != "" {
		out["offset"] = page.Offset
		out["next"] = c.Path() + "?offset=" + url.QueryEscape(page.Offset)
	}
	return s.json(c, fiber.StatusOK, out)
}

// scoped injects the parent's foreign key into a nested write.
func scoped(t *target, parent, in map[string]any) {
	if parent != nil {
		in[t.parentField] = map[string]any{"id": parent["id"]}
	}
}

func (s *Server) create(c *fiber.Ctx, t *target, parent map[string]any) error {
	in, err := body(c)
	if err != nil {
		return s.fail(c, err)
	}
	if t.entity.Name == "targets" && parent != nil {
		// Kong (deprecated behaviour): POSTing a target the upstream already
		// has updates it, answering 200 with a Deprecation header.
		if name, ok := in["target"].(string); ok {
			cur, err := s.findChild(c.UserContext(), t, parent, "target", store.NormalizeTarget(name))
			if err == nil {
				scoped(t, parent, in)
				rec, err := s.store.Update(c.UserContext(), "targets", cur["id"].(string), in)
				if err != nil {
					return s.fail(c, err)
				}
				c.Set("Deprecation", "true")
				return s.entityJSON(c, fiber.StatusOK, t.entity, rec)
			}
		}
	}
	scoped(t, parent, in)
	rec, err := s.store.Insert(c.UserContext(), t.entity.Name, in)
	if err != nil {
		return s.fail(c, err)
	}
	return s.entityJSON(c, fiber.StatusCreated, t.entity, rec)
}

// createUnder is create under a parent (POST /consumers/{c}/key-auth): the
// store finds the parent in the create's own transaction. An unknown
// parent is a 404 before a bad body is a 400, as when the parent is read
// first.
func (s *Server) createUnder(c *fiber.Ctx, t *target) error {
	ctx := c.UserContext()
	in, err := body(c)
	if err != nil {
		if _, perr := s.store.Get(ctx, t.parentEntity.Name, t.parentKey); perr != nil {
			return s.fail(c, perr)
		}
		return s.fail(c, err)
	}
	rec, err := s.store.InsertUnder(ctx, t.entity.Name, store.Parent{Entity: t.parentEntity.Name, Key: t.parentKey, Field: t.parentField}, in)
	if err != nil {
		return s.fail(c, err)
	}
	return s.entityJSON(c, fiber.StatusCreated, t.entity, rec)
}

func (s *Server) update(c *fiber.Ctx, t *target, parent map[string]any) error {
	ctx := c.UserContext()
	in, err := body(c)
	if err != nil {
		return s.fail(c, err)
	}
	cur, err := s.find(ctx, t, parent)
	if err != nil {
		return s.fail(c, err)
	}
	if parent != nil {
		if _, given := in[t.parentField]; !given {
			scoped(t, parent, in)
		}
	}
	rec, err := s.store.Update(ctx, t.entity.Name, cur["id"].(string), in)
	if err != nil {
		return s.fail(c, err)
	}
	return s.entityJSON(c, fiber.StatusOK, t.entity, rec)
}

func (s *Server) upsert(c *fiber.Ctx, t *target, parent map[string]any) error {
	ctx := c.UserContext()
	in, err := body(c)
	if err != nil {
		return s.fail(c, err)
	}
	key := t.key
	if parent != nil {
		cur, err := s.find(ctx, t, parent)
		switch {
		case err == nil:
			key = cur["id"].(string)
			// Kong's upsert_by_<key>: the key the URL names it by is
			// written again, whatever the body says, or the replacement
			// would lose it (a required field, or a name cleared, or a
			// key-auth key regenerated).
			if field := keyField(t.entity); field != "" && !store.IsUUID(t.key) {
				in[field] = t.key
			}
		case !store.IsNotFound(err):
			return s.fail(c, err)
		case t.entity.Name == "targets" && !store.IsUUID(key):
			in["target"] = key
			key = ""
		case t.entity.ParentKey != "" && !store.IsUUID(key):
			in[t.entity.ParentKey] = key
			key = ""
		}
		scoped(t, parent, in)
	}
	if t.entity.Name == "certificates" && parent == nil {
		if key, err = s.certificatePut(ctx, key, in); err != nil {
			return s.fail(c, err)
		}
	}
	var rec map[string]any
	if key == "" {
		rec, err = s.store.Insert(ctx, t.entity.Name, in)
	} else {
		rec, err = s.store.Upsert(ctx, t.entity.Name, key, in)
	}
	if err != nil {
		return s.fail(c, err)
	}
	return s.entityJSON(c, fiber.StatusOK, t.entity, rec)
}

// keyField is the field a nested URL names an entity by in place of its
// id: the entity's declared ParentKey (an ACL's group), the target of a
// target, else the endpoint key.
func keyField(e *store.Entity) string {
	if e.ParentKey != "" {
		return e.ParentKey
	}
	if e.Name == "targets" {
		return "target"
	}
	return e.EndpointKey
}

// entityJSON writes one entity, with the fields Kong adds on output: a
// certificate's `snis`.
func (s *Server) entityJSON(c *fiber.Ctx, status int, e *store.Entity, rec map[string]any) error {
	if err := s.present(c.UserContext(), e, rec); err != nil {
		return s.fail(c, err)
	}
	return s.json(c, status, rec)
}

func (s *Server) present(ctx context.Context, e *store.Entity, rec map[string]any) error {
	if e.Name != "certificates" {
		return nil
	}
	names, err := s.store.CertificateSNIs(ctx, rec["id"].(string))
	rec["snis"] = names
	return err
}

func (s *Server) remove(c *fiber.Ctx, t *target, parent map[string]any) error {
	ctx := c.UserContext()
	key := t.key
	if t.entity.Name == "certificates" && parent == nil && !store.IsUUID(key) {
		// DELETE /certificates/{SNI name}: the certificate serving it.
		cert, err := s.certificateBySNI(ctx, key)
		if err != nil {
			return s.fail(c, err)
		}
		key = cert["id"].(string)
	}
	if parent != nil {
		cur, err := s.find(ctx, t, parent)
		if store.IsNotFound(err) {
			return notFound(c)
		}
		if err != nil {
			return s.fail(c, err)
		}
		key = cur["id"].(string)
	}
	if _, err := s.store.Delete(ctx, t.entity.Name, key); err != nil {
		return s.fail(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// toOne serves /routes/{r}/service and friends: the entity a foreign key of
// another entity points at.
func (s *Server) toOne(c *fiber.Ctx, t *target) error {
	ctx := c.UserContext()
	owner, err := s.store.Get(ctx, t.entity.Name, t.key)
	if err != nil {
		return s.fail(c, err)
	}
	id := foreignID(owner[t.toOne.Name])
	if id == "" {
		return notFound(c)
	}
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead:
		rec, err := s.store.Get(ctx, t.toOne.Reference, id)
		if err != nil {
			return s.fail(c, err)
		}
		return s.json(c, fiber.StatusOK, rec)
	case fiber.MethodPatch:
		in, err := body(c)
		if err != nil {
			return s.fail(c, err)
		}
		rec, err := s.store.Update(ctx, t.toOne.Reference, id, in)
		if err != nil {
			return s.fail(c, err)
		}
		return s.json(c, fiber.StatusOK, rec)
	}
	return methodNotAllowed(c)
}

func pid() int { return os.Getpid() }

func memoryStats() map[string]any {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	mib := func(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 2, 64) + " MiB" }
	return map[string]any{
		"workers_lua_vms":   []any{map[string]any{"http_allocated_gc": mib(m.HeapAlloc), "pid": pid()}},
		"lua_shared_dicts":  map[string]any{},
		"go_heap_allocated": mib(m.HeapAlloc),
		"go_sys":            mib(m.Sys),
	}
}

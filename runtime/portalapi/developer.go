package portalapi

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

// basicAuth is the only portal_auth Gatehouse's portal signs in with.
const basicAuth = "basic-auth"

// developerKey holds the signed-in developer of a request.
type developerKey struct{}

// publicDeveloper is a developer as the portal shows it: no password,
// roles always a list.
func publicDeveloper(rec map[string]any) map[string]any {
	out := make(map[string]any, len(rec))
	for k, v := range rec {
		if k != "password" {
			out[k] = v
		}
	}
	if out["roles"] == nil {
		out["roles"] = []any{}
	}
	return out
}

// statusLabel is Kong's label of a status ("PENDING").
func statusLabel(v any) string {
	n, ok := intOf(v)
	if !ok || n < 0 || n >= len(store.InstanceStatusNames) {
		return "UNKNOWN"
	}
	return store.InstanceStatusNames[n]
}

// sessionConf is the portal_session_conf in force (a JSON object): the
// workspace's, else kong.conf's.
func (a *api) sessionConf(c *fiber.Ctx) string {
	if s, _ := config(c)["portal_session_conf"].(string); strings.TrimSpace(s) != "" {
		return s
	}
	return a.opts.SessionConf
}

// signedIn returns the request's signed-in, approved developer; without
// one it answers (404 when no portal_auth is configured, 401 otherwise)
// and returns nil.
func (a *api) signedIn(c *fiber.Ctx) (map[string]any, error) {
	if dev, ok := c.Locals(developerKey{}).(map[string]any); ok {
		return dev, nil
	}
	if a.authMethod(c) != basicAuth {
		return nil, message(c, fiber.StatusNotFound, msgNotFound)
	}
	sc := a.sessionConf(c)
	sess, _, ok, err := a.sessions.load(c, sc)
	if err != nil {
		return nil, a.fail(c, err)
	}
	if !ok {
		return nil, message(c, fiber.StatusUnauthorized, msgInvalidCreds)
	}
	dev, err := a.opts.Store.Get(c.UserContext(), "developers", sess.Subject)
	if store.IsNotFound(err) {
		if err := a.sessions.destroy(c, sc); err != nil {
			return nil, a.fail(c, err)
		}
		return nil, message(c, fiber.StatusUnauthorized, msgInvalidCreds)
	}
	if err != nil {
		return nil, a.fail(c, err)
	}
	if n, _ := intOf(dev["status"]); n != store.DeveloperApproved {
		return nil, message(c, fiber.StatusUnauthorized, msgUnauthorized+": Developer status: "+statusLabel(dev["status"]))
	}
	c.Locals(developerKey{}, dev)
	return dev, nil
}

// optionalDeveloper returns the signed-in developer if any, never
// answering: the files of an open portal are readable without one.
func (a *api) optionalDeveloper(c *fiber.Ctx) map[string]any {
	if a.authMethod(c) != basicAuth {
		return nil
	}
	sess, _, ok, err := a.sessions.load(c, a.sessionConf(c))
	if err != nil || !ok {
		return nil
	}
	dev, err := a.opts.Store.Get(c.UserContext(), "developers", sess.Subject)
	if err != nil {
		return nil
	}
	if n, _ := intOf(dev["status"]); n != store.DeveloperApproved {
		return nil
	}
	return dev
}

// register is POST /register: a developer signs up, pending unless the
// workspace's portal_auto_approve is on.
func (a *api) register(c *fiber.Ctx) error {
	in, err := a.input(c)
	if err != nil {
		return a.fail(c, err)
	}
	if _, ok := in["status"]; ok {
		return send(c, fiber.StatusBadRequest, map[string]any{"fields": map[string]any{"status": "invalid field"}})
	}
	rec := map[string]any{}
	email, _ := in["email"].(string)
	if email == "" {
		return message(c, fiber.StatusBadRequest, "schema violation (email: required field missing)")
	}
	rec["email"] = strings.ToLower(strings.TrimSpace(email))
	pw, _ := in["password"].(string)
	if a.authMethod(c) == basicAuth && pw == "" {
		return message(c, fiber.StatusBadRequest, "password is required")
	}
	if pw != "" {
		rec["password"] = pw
	}
	meta, ok := metaJSON(in["meta"])
	if !ok {
		return message(c, fiber.StatusBadRequest, msgMetaNotObject)
	}
	if msg := metaViolation(config(c), meta); msg != "" {
		return message(c, fiber.StatusBadRequest, msg)
	}
	if meta != "" {
		rec["meta"] = meta
	}
	if id, ok := in["id"].(string); ok && id != "" {
		rec["id"] = id
	}
	rec["status"] = store.DeveloperPending
	if a.autoApprove(c) {
		rec["status"] = store.DeveloperApproved
	}
	dev, err := a.opts.Store.Insert(typed(c), "developers", rec)
	if err != nil {
		return a.fail(c, err)
	}
	a.log.Info("portal: developer access request", "email", dev["email"], "status", statusLabel(dev["status"]))
	return send(c, fiber.StatusOK, map[string]any{"developer": publicDeveloper(dev)})
}

// basicCredentials parses Authorization: Basic base64(email:password).
func basicCredentials(h string) (user, pass string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	return user, pass, ok && user != ""
}

// signIn is GET /auth with Basic credentials: a session cookie for an
// approved developer whose password matches.
func (a *api) signIn(c *fiber.Ctx) error {
	if a.authMethod(c) != basicAuth {
		return message(c, fiber.StatusNotFound, msgNotFound)
	}
	email, pw, ok := basicCredentials(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return message(c, fiber.StatusUnauthorized, msgUnauthorized)
	}
	dev, err := a.opts.Store.Get(c.UserContext(), "developers", strings.ToLower(email))
	if store.IsNotFound(err) {
		return message(c, fiber.StatusUnauthorized, msgInvalidCreds)
	}
	if err != nil {
		return a.fail(c, err)
	}
	hash, _ := dev["password"].(string)
	if !store.CheckDeveloperPassword(hash, pw) {
		return message(c, fiber.StatusUnauthorized, msgInvalidCreds)
	}
	if n, _ := intOf(dev["status"]); n != store.DeveloperApproved {
		return message(c, fiber.StatusUnauthorized, msgUnauthorized+": Developer status: "+statusLabel(dev["status"]))
	}
	id, _ := dev["id"].(string)
	if err := a.sessions.start(c, a.sessionConf(c), id); err != nil {
		return a.fail(c, err)
	}
	c.Status(fiber.StatusOK)
	return nil
}

// signOut is DELETE /auth: the session ends and its cookie is cleared.
func (a *api) signOut(c *fiber.Ctx) error {
	if a.authMethod(c) != basicAuth {
		return message(c, fiber.StatusNotFound, msgNotFound)
	}
	if err := a.sessions.destroy(c, a.sessionConf(c)); err != nil {
		return a.fail(c, err)
	}
	c.Status(fiber.StatusOK)
	return nil
}

// session is GET /session: the signed-in developer's session timing.
func (a *api) session(c *fiber.Ctx) error {
	if dev, err := a.signedIn(c); dev == nil {
		return err
	}
	sess, m, ok, err := a.sessions.load(c, a.sessionConf(c))
	if err != nil {
		return a.fail(c, err)
	}
	if !ok {
		return message(c, fiber.StatusUnauthorized, msgInvalidCreds)
	}
	return send(c, fiber.StatusOK, map[string]any{"session": m.Info(sess)})
}

// metaFields is GET /developer/meta_fields: the registration form's fields.
func (a *api) metaFields(c *fiber.Ctx) error {
	var v any
	if err := json.Unmarshal([]byte(metaFieldsConf(config(c))), &v); err != nil {
		return a.fail(c, err)
	}
	return send(c, fiber.StatusOK, v)
}

// developer is GET /developer: the signed-in developer.
func (a *api) developer(c *fiber.Ctx) error {
	dev, err := a.signedIn(c)
	if dev == nil {
		return err
	}
	return send(c, fiber.StatusOK, publicDeveloper(dev))
}

// canRead reports whether a developer (nil: anonymous) may read a file:
// a file without readable_by is public; "*" admits any signed-in
// developer; otherwise one of the developer's roles must be listed.
func canRead(dev map[string]any, file map[string]any) bool {
	p, _ := file["path"].(string)
	contents, _ := file["contents"].(string)
	hm, err := store.ParseHeadmatter(p, contents)
	if err != nil {
		// The readers of a spec whose headmatter cannot be read are
		// unknown: fail closed.
		return false
	}
	if hm.ReadableBy == nil {
		return true
	}
	if dev == nil {
		return false
	}
	if slices.Contains(hm.ReadableBy, "*") {
		return true
	}
	for _, role := range stringList(dev["roles"]) {
		if slices.Contains(hm.ReadableBy, role) {
			return true
		}
	}
	return false
}

// readerOf is the developer files are filtered for: the signed-in one,
// or none (anonymous visitors see the files without readable_by only,
// as Kong's GUI shows them through /files/unauthenticated).
func (a *api) readerOf(c *fiber.Ctx) map[string]any { return a.optionalDeveloper(c) }

// listFiles is GET /files: the files the caller may read.
func (a *api) listFiles(c *fiber.Ctx) error {
	return a.filesFor(c, a.readerOf(c))
}

// listPublicFiles is GET /files/unauthenticated: the files without
// readable_by.
func (a *api) listPublicFiles(c *fiber.Ctx) error { return a.filesFor(c, nil) }

func (a *api) filesFor(c *fiber.Ctx, dev map[string]any) error {
	typ := c.Query("type")
	var data []any
	err := a.opts.Store.EachRecord(c.UserContext(), "files", store.ListQuery{}, func(f map[string]any) error {
		p, _ := f["path"].(string)
		if (typ != "spec" || strings.HasPrefix(p, "specs/")) && canRead(dev, f) {
			data = append(data, f)
		}
		return nil
	})
	if err != nil {
		return a.fail(c, err)
	}
	return page(c, data)
}

// getFile is GET /files/<path>: one file the caller may read, else 404.
func (a *api) getFile(c *fiber.Ctx) error {
	dev := a.readerOf(c)
	p := param(c, "*")
	f, err := a.opts.Store.Get(c.UserContext(), "files", p)
	if store.IsNotFound(err) || (err == nil && !canRead(dev, f)) {
		return message(c, fiber.StatusNotFound, msgNotFound)
	}
	if err != nil {
		return a.fail(c, err)
	}
	return send(c, fiber.StatusOK, map[string]any{"data": f})
}

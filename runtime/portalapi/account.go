package portalapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

// The signed-in developer's own account (PORTALSPEC §3.6): password,
// email, meta, and closing the account. Every route needs a session; the
// developer is always the session's, never one named by the request.

// Kong's messages of the account routes (PORTALSPEC §3.6; the order of
// the password checks is [I]).
const (
	msgPasswordRequired = "key or password is required"
	msgOldPasswordMiss  = "Must include old_password"
	msgPasswordsSame    = "Passwords cannot be the same"
	msgOldPasswordBad   = "Old password is invalid"
	msgEmailRequired    = "email is required"
	msgMetaRequired     = "meta required"
)

// PasswordChange is a PATCH /developer/password body.
type PasswordChange struct {
	Old, New string
}

// ParsePasswordChange reads {old_password, password} from a decoded
// body: a missing or non-string password is Kong's "key or password is
// required", a missing old_password "Must include old_password", the
// same password twice "Passwords cannot be the same". The old password
// is checked against the stored hash by the caller.
func ParsePasswordChange(in map[string]any) (PasswordChange, string) {
	pw, _ := in["password"].(string)
	if pw == "" {
		return PasswordChange{}, msgPasswordRequired
	}
	old, _ := in["old_password"].(string)
	if old == "" {
		return PasswordChange{}, msgOldPasswordMiss
	}
	if old == pw {
		return PasswordChange{}, msgPasswordsSame
	}
	return PasswordChange{Old: old, New: pw}, ""
}

// patchPassword is PATCH /developer/password: 204 once the old password
// is confirmed and the new one stored (hashed).
func (a *api) patchPassword(c *fiber.Ctx) error {
	dev, err := a.signedIn(c)
	if dev == nil {
		return err
	}
	in, err := a.input(c)
	if err != nil {
		return a.fail(c, err)
	}
	ch, msg := ParsePasswordChange(in)
	if msg != "" {
		return message(c, fiber.StatusBadRequest, msg)
	}
	hash, _ := dev["password"].(string)
	if !store.CheckDeveloperPassword(hash, ch.Old) {
		return message(c, fiber.StatusBadRequest, msgOldPasswordBad)
	}
	if _, err := a.opts.Store.Update(typed(c), "developers", fmt.Sprint(dev["id"]), map[string]any{"password": ch.New}); err != nil {
		return a.fail(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// patchEmail is PATCH /developer/email: the developer's new email (their
// sign-in name from now on), 200 with the developer; an email another
// developer has is 409.
func (a *api) patchEmail(c *fiber.Ctx) error {
	dev, err := a.signedIn(c)
	if dev == nil {
		return err
	}
	in, err := a.input(c)
	if err != nil {
		return a.fail(c, err)
	}
	email, _ := in["email"].(string)
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return message(c, fiber.StatusBadRequest, msgEmailRequired)
	}
	rec, err := a.opts.Store.Update(typed(c), "developers", fmt.Sprint(dev["id"]), map[string]any{"email": email})
	if err != nil {
		return a.fail(c, err)
	}
	return send(c, fiber.StatusOK, publicDeveloper(rec))
}

// putMeta is PUT /developer/meta: {meta: "<JSON object>"} replaces the
// developer's meta, checked against the portal's meta fields; 200 with an
// empty body, as Kong.
func (a *api) putMeta(c *fiber.Ctx) error {
	dev, err := a.signedIn(c)
	if dev == nil {
		return err
	}
	in, err := a.input(c)
	if err != nil {
		return a.fail(c, err)
	}
	var meta string
	switch m := in["meta"].(type) {
	case string:
		meta = m
	case map[string]any:
		b, err := json.Marshal(m)
		if err != nil {
			return a.fail(c, err)
		}
		meta = string(b)
	}
	if strings.TrimSpace(meta) == "" {
		return message(c, fiber.StatusBadRequest, msgMetaRequired)
	}
	var obj map[string]any
	if json.Unmarshal([]byte(meta), &obj) != nil || obj == nil {
		return message(c, fiber.StatusBadRequest, "schema violation (meta: expected a JSON object)")
	}
	fields, ok := config(c)["portal_developer_meta_fields"].(string)
	if !ok || fields == "" {
		fields = store.DefaultDeveloperMetaFields
	}
	if err := store.CheckDeveloperMeta(meta, fields); err != nil {
		return message(c, fiber.StatusBadRequest, "schema violation (meta: "+err.Error()+")")
	}
	if _, err := a.opts.Store.Update(typed(c), "developers", fmt.Sprint(dev["id"]), map[string]any{"meta": meta}); err != nil {
		return a.fail(c, err)
	}
	return c.SendStatus(fiber.StatusOK)
}

// deleteDeveloper is DELETE /developer: the developer closes their
// account; their applications go with it (consumers, credentials,
// registrations) and the session ends. 204.
func (a *api) deleteDeveloper(c *fiber.Ctx) error {
	dev, err := a.signedIn(c)
	if dev == nil {
		return err
	}
	if err := a.apps().DeleteDeveloper(c.UserContext(), fmt.Sprint(dev["id"])); err != nil {
		return a.fail(c, err)
	}
	if err := a.sessions.destroy(c, a.sessionConf(c)); err != nil {
		return a.fail(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// DeleteDeveloper deletes a developer with their applications — each
// through its consumer (Delete) — and their own consumer
// (/credentials), so no consumer of theirs outlives them: one whose
// application or developer is gone would be an ordinary proxy consumer
// again, its credentials live.
func (s Applications) DeleteDeveloper(ctx context.Context, developerID string) error {
	var apps []map[string]any
	q := store.ListQuery{Size: store.MaxPageSize, ForeignField: "developer", ForeignKey: developerID}
	for {
		p, err := s.Store.List(ctx, store.ApplicationEntity, q)
		if err != nil {
			return fmt.Errorf("developer %s: listing their applications: %w", developerID, err)
		}
		apps = append(apps, p.Data...)
		if p.Offset == "" {
			break
		}
		q.Offset = p.Offset
	}
	for _, app := range apps {
		if err := s.Delete(ctx, app); err != nil && !store.IsNotFound(err) {
			return err
		}
	}
	cons, err := s.DeveloperConsumer(ctx, developerID, false)
	if err != nil {
		return err
	}
	if cons != nil {
		if _, err := s.Store.Delete(ctx, "consumers", fmt.Sprint(cons["id"])); err != nil {
			return fmt.Errorf("developer %s: deleting their consumer: %w", developerID, err)
		}
	}
	if _, err := s.Store.Delete(ctx, "developers", developerID); err != nil {
		return fmt.Errorf("developer %s: %w", developerID, err)
	}
	return nil
}

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
	msgMetaNotObject    = "schema violation (meta: expected a JSON object)"
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
	in, err := a.withBody(c, dev, err)
	if in == nil {
		return err
	}
	ch, msg := ParsePasswordChange(in)
	if msg != "" {
		return message(c, fiber.StatusBadRequest, msg)
	}
	hash, _ := dev["password"].(string)
	if !store.CheckDeveloperPassword(hash, ch.Old) {
		return message(c, fiber.StatusBadRequest, msgOldPasswordBad)
	}
	_, err = a.updateDeveloper(c, dev, map[string]any{"password": ch.New})
	return a.noContent(c, err)
}

// updateDeveloper writes fields to the developer.
func (a *api) updateDeveloper(c *fiber.Ctx, dev, fields map[string]any) (map[string]any, error) {
	return a.opts.Store.Update(typed(c), "developers", fmt.Sprint(dev["id"]), fields)
}

// patchEmail is PATCH /developer/email: the developer's new email (their
// sign-in name from now on), 200 with the developer; an email another
// developer has is 409.
func (a *api) patchEmail(c *fiber.Ctx) error {
	dev, err := a.signedIn(c)
	in, err := a.withBody(c, dev, err)
	if in == nil {
		return err
	}
	email, _ := in["email"].(string)
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return message(c, fiber.StatusBadRequest, msgEmailRequired)
	}
	rec, err := a.updateDeveloper(c, dev, map[string]any{"email": email})
	return a.reply(c, fiber.StatusOK, publicDeveloper(rec), err)
}

// putMeta is PUT /developer/meta: {meta: "<JSON object>"} replaces the
// developer's meta, checked against the portal's meta fields; 200 with an
// empty body, as Kong.
func (a *api) putMeta(c *fiber.Ctx) error {
	dev, err := a.signedIn(c)
	in, err := a.withBody(c, dev, err)
	if in == nil {
		return err
	}
	meta, ok := metaJSON(in["meta"])
	if !ok || strings.TrimSpace(meta) == "" {
		return message(c, fiber.StatusBadRequest, msgMetaRequired)
	}
	if msg := metaViolation(config(c), meta); msg != "" {
		return message(c, fiber.StatusBadRequest, msg)
	}
	if _, err := a.updateDeveloper(c, dev, map[string]any{"meta": meta}); err != nil {
		return a.fail(c, err)
	}
	return c.SendStatus(fiber.StatusOK)
}

// metaJSON reads a body's meta, a JSON string or an object (encoded):
// "" when absent; false when it is neither.
func metaJSON(v any) (string, bool) {
	switch m := v.(type) {
	case nil:
		return "", true
	case string:
		return m, true
	case map[string]any:
		b, err := json.Marshal(m)
		return string(b), err == nil
	}
	return "", false
}

// metaFieldsConf is the portal_developer_meta_fields in force: the
// workspace's, else Kong's default (the one required full_name).
func metaFieldsConf(cfg map[string]any) string {
	if fields, _ := cfg["portal_developer_meta_fields"].(string); fields != "" {
		return fields
	}
	return store.DefaultDeveloperMetaFields
}

// metaViolation is Kong's schema violation for a developer's meta ("" a
// JSON object, or "" when absent) against the portal's meta fields; ""
// when it passes.
func metaViolation(cfg map[string]any, meta string) string {
	if meta != "" {
		var obj map[string]any
		if json.Unmarshal([]byte(meta), &obj) != nil || obj == nil {
			return msgMetaNotObject
		}
	}
	if err := store.CheckDeveloperMeta(meta, metaFieldsConf(cfg)); err != nil {
		return "schema violation (meta: " + err.Error() + ")"
	}
	return ""
}

// deleteDeveloper is DELETE /developer: the developer closes their
// account; their applications go with it (consumers, credentials,
// registrations) and the session ends. 204.
func (a *api) deleteDeveloper(c *fiber.Ctx) error {
	dev, err := a.signedIn(c)
	if dev == nil {
		return err
	}
	err = a.apps().DeleteDeveloper(c.UserContext(), fmt.Sprint(dev["id"]))
	if err == nil {
		err = a.sessions.destroy(c, a.sessionConf(c))
	}
	return a.noContent(c, err)
}

// DeleteDeveloper deletes a developer with their applications — each
// through its consumer (Delete) — and their own consumer
// (/credentials), so no consumer of theirs outlives them: one whose
// application or developer is gone would be an ordinary proxy consumer
// again, its credentials live.
func (s Applications) DeleteDeveloper(ctx context.Context, developerID string) error {
	var apps []map[string]any
	err := s.Store.EachRecord(ctx, store.ApplicationEntity, store.ListQuery{ForeignField: "developer", ForeignKey: developerID},
		func(app map[string]any) error {
			apps = append(apps, app)
			return nil
		})
	if err != nil {
		return fmt.Errorf("developer %s: their applications: %w", developerID, err)
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
	if _, ok := s.Store.Registry().Entity("reset_secrets"); ok {
		if _, err := s.Store.Delete(ctx, "reset_secrets", resetSubjectPrefix+developerID); err != nil && !store.IsNotFound(err) {
			return fmt.Errorf("developer %s: deleting their reset token: %w", developerID, err)
		}
	}
	if _, err := s.Store.Delete(ctx, "developers", developerID); err != nil {
		return fmt.Errorf("developer %s: %w", developerID, err)
	}
	return nil
}

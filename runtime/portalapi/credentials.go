package portalapi

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

// The signed-in developer's own credentials (PORTALSPEC §3.11):
// /credentials/{plugin} lists, creates and deletes credentials of the
// developer's own consumer, which the proxy authenticates like any
// other. Kong attaches them to the developer's consumer (type
// DEVELOPER); Gatehouse creates that consumer on the developer's first
// credential, named store.DeveloperConsumerUsername (the developer's id)
// [D], hidden from /consumers like an application's. The developer's
// portal sign-in is not one of these credentials: it is the developer's
// own password (PORTALSPEC §3.3 [D]).

// DeveloperCredentialEntities maps the plugins a developer may hold
// credentials of to their credential entities.
var DeveloperCredentialEntities = map[string]string{
	"basic-auth": "basicauth_credentials",
	"key-auth":   keyauthCredentials,
	"oauth2":     oauth2Credentials,
	"hmac-auth":  "hmacauth_credentials",
	"jwt":        "jwt_secrets",
}

// credentialEntity is the entity of the path's :plugin, or "" (the
// plugin is unknown, or not built into this node).
func (a *api) credentialEntity(c *fiber.Ctx) string {
	entity := DeveloperCredentialEntities[param(c, "plugin")]
	if entity == "" {
		return ""
	}
	if _, ok := a.opts.Store.Registry().Entity(entity); !ok {
		return ""
	}
	return entity
}

// DeveloperConsumer returns the developer's own consumer; with create,
// one is made when there is none. nil without create when there is none.
func (s Applications) DeveloperConsumer(ctx context.Context, developerID string, create bool) (map[string]any, error) {
	name := store.DeveloperConsumerUsername(developerID)
	rec, err := s.Store.FindUnique(ctx, "consumers", "username", name)
	if err == nil || !store.IsNotFound(err) {
		return rec, err
	}
	if !create {
		return nil, nil
	}
	rec, err = s.Store.Insert(ctx, "consumers", map[string]any{"username": name})
	if e, ok := store.AsError(err); ok && e.Code == store.CodeUniqueViolation {
		// Made by a concurrent request of the same developer.
		return s.Store.FindUnique(ctx, "consumers", "username", name)
	}
	if err != nil {
		return nil, fmt.Errorf("developer %s: creating their consumer: %w", developerID, err)
	}
	return rec, nil
}

// developerCredential is the signed-in developer, the credential entity
// of :plugin and the developer's consumer (nil when they have none and
// create is false); dev is nil when it answered.
func (a *api) developerCredential(c *fiber.Ctx, create bool) (dev map[string]any, entity string, consumer map[string]any, err error) {
	dev, err = a.signedIn(c)
	if dev == nil {
		return nil, "", nil, err
	}
	entity = a.credentialEntity(c)
	if entity == "" {
		return nil, "", nil, message(c, fiber.StatusNotFound, msgNotFound)
	}
	consumer, err = a.apps().DeveloperConsumer(typed(c), fmt.Sprint(dev["id"]), create)
	if err != nil {
		return nil, "", nil, a.fail(c, err)
	}
	return dev, entity, consumer, nil
}

// listDeveloperCredentials is GET /credentials/{plugin}.
func (a *api) listDeveloperCredentials(c *fiber.Ctx) error {
	dev, entity, consumer, err := a.developerCredential(c, false)
	switch {
	case dev == nil:
		return err
	case consumer == nil:
		return page(c, nil)
	}
	return a.pageOf(c, entity, store.ListQuery{ForeignField: "consumer", ForeignKey: fmt.Sprint(consumer["id"])})
}

// createDeveloperCredential is POST /credentials/{plugin}: a credential
// of the developer's consumer (made on the first one); 201.
func (a *api) createDeveloperCredential(c *fiber.Ctx) error {
	in, err := a.input(c)
	if err != nil {
		return a.fail(c, err)
	}
	dev, entity, consumer, err := a.developerCredential(c, true)
	if dev == nil {
		return err
	}
	delete(in, "consumer") // always the developer's own
	in["consumer"] = map[string]any{"id": consumer["id"]}
	rec, err := a.opts.Store.Insert(c.UserContext(), entity, in)
	return a.reply(c, fiber.StatusCreated, rec, err)
}

// ownCredential is the developer's credential :id of :plugin; nil when
// it answered (404 for another's, or an unknown one).
func (a *api) ownCredential(c *fiber.Ctx) (entity string, rec map[string]any, err error) {
	dev, entity, consumer, err := a.developerCredential(c, false)
	if dev == nil {
		return "", nil, err
	}
	if consumer != nil {
		rec, err = a.opts.Store.Get(c.UserContext(), entity, param(c, "id"))
		if err == nil && store.ForeignID(rec["consumer"]) == consumer["id"] {
			return entity, rec, nil
		}
		if err != nil && !store.IsNotFound(err) {
			return "", nil, a.fail(c, err)
		}
	}
	return "", nil, message(c, fiber.StatusNotFound, msgNotFound)
}

// credentialByID is GET /credentials/{plugin}/{id} (and, with remove,
// DELETE: 204).
func (a *api) credentialByID(c *fiber.Ctx, remove bool) error {
	entity, rec, err := a.ownCredential(c)
	switch {
	case rec == nil:
		return err
	case !remove:
		return send(c, fiber.StatusOK, rec)
	}
	_, err = a.opts.Store.Delete(c.UserContext(), entity, fmt.Sprint(rec["id"]))
	return a.noContent(c, err)
}

// getDeveloperCredential is GET /credentials/{plugin}/{id}.
func (a *api) getDeveloperCredential(c *fiber.Ctx) error { return a.credentialByID(c, false) }

// deleteDeveloperCredential is DELETE /credentials/{plugin}/{id}: 204.
func (a *api) deleteDeveloperCredential(c *fiber.Ctx) error { return a.credentialByID(c, true) }

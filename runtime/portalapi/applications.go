package portalapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

// The entities of the application's credentials: the oauth2 plugin's
// client applications and key-auth's keys (each app gets a key equal to
// its client_id, as in Kong).
const (
	oauth2Credentials  = "oauth2_credentials"
	keyauthCredentials = "keyauth_credentials"
)

// Applications is the Developer Portal's application logic, shared by the
// portal API and the Admin API (runtime/admin/portal_apps.go): an
// application is backed by a consumer (username "<developer id>_<name>")
// holding its oauth2 credential; deleting the consumer deletes the
// application, its registrations and its credentials.
type Applications struct {
	// Store holds the entities.
	Store *store.Store
}

// AppError is an application operation's refusal, answered with Status
// and {"message": Message}.
type AppError struct {
	Status  int
	Message string
}

func (e *AppError) Error() string { return e.Message }

// Create creates an application of the developer from the fields name,
// description, redirect_uri, custom_id and meta, with its consumer, an
// oauth2 credential (client_id, client_secret generated) and a key-auth
// key equal to the client_id.
func (s Applications) Create(ctx context.Context, developerID string, in map[string]any) (map[string]any, error) {
	ctx = store.WithTypedInput(ctx)
	app := map[string]any{}
	for _, k := range []string{"name", "description", "redirect_uri", "custom_id", "meta"} {
		if v, ok := in[k]; ok && v != nil {
			sv, ok := v.(string)
			if !ok {
				return nil, &AppError{Status: 400, Message: "schema violation (" + k + ": expected a string)"}
			}
			app[k] = sv
		}
	}
	name, _ := app["name"].(string)
	name = strings.TrimRight(name, " \t")
	app["name"] = name
	if name == "" {
		return nil, &AppError{Status: 400, Message: "schema violation (name: required field missing)"}
	}
	redirect, _ := app["redirect_uri"].(string)
	if redirect == "" {
		return nil, &AppError{Status: 400, Message: "schema violation (redirect_uri: required field missing)"}
	}
	consumer := map[string]any{"username": developerID + "_" + name}
	if cid, ok := app["custom_id"].(string); ok {
		consumer["custom_id"] = cid
	}
	cons, err := s.Store.Insert(ctx, "consumers", consumer)
	if e, ok := store.AsError(err); ok && e.Code == store.CodeUniqueViolation {
		if _, ok := e.Fields["custom_id"]; ok {
			return nil, &AppError{Status: 409, Message: fmt.Sprintf("application already exists with custom_id: '%s'", consumer["custom_id"])}
		}
		return nil, &AppError{Status: 409, Message: fmt.Sprintf("application already exists with name: '%s'", name)}
	}
	if err != nil {
		return nil, err
	}
	consumerID, _ := cons["id"].(string)
	undo := func() { _, _ = s.Store.Delete(context.WithoutCancel(ctx), "consumers", consumerID) }
	app["consumer"] = map[string]any{"id": consumerID}
	app["developer"] = map[string]any{"id": developerID}
	rec, err := s.Store.Insert(ctx, store.ApplicationEntity, app)
	if err != nil {
		undo()
		if e, ok := store.AsError(err); ok && e.Code == store.CodeUniqueViolation {
			return nil, &AppError{Status: 409, Message: fmt.Sprintf("application already exists with name: '%s'", name)}
		}
		return nil, err
	}
	if _, err := s.AddCredential(ctx, rec, map[string]any{}); err != nil {
		undo()
		return nil, err
	}
	return rec, nil
}

// Update changes an application's name, description, redirect_uri,
// custom_id or meta; a new name renames its consumer, and a new name or
// redirect_uri follows into its oauth2 credentials.
func (s Applications) Update(ctx context.Context, app map[string]any, in map[string]any) (map[string]any, error) {
	ctx = store.WithTypedInput(ctx)
	upd := map[string]any{}
	for _, k := range []string{"name", "description", "redirect_uri", "custom_id", "meta"} {
		v, ok := in[k]
		if !ok {
			continue
		}
		if v == nil {
			if k == "name" || k == "redirect_uri" {
				return nil, &AppError{Status: 400, Message: "schema violation (" + k + ": required field missing)"}
			}
			upd[k] = nil
			continue
		}
		sv, ok := v.(string)
		if !ok {
			return nil, &AppError{Status: 400, Message: "schema violation (" + k + ": expected a string)"}
		}
		if k == "name" {
			sv = strings.TrimRight(sv, " \t")
			if sv == "" {
				return nil, &AppError{Status: 400, Message: "schema violation (name: length must be at least 1)"}
			}
		}
		upd[k] = sv
	}
	consumerID := store.ForeignID(app["consumer"])
	if name, ok := upd["name"].(string); ok && name != app["name"] {
		_, err := s.Store.Update(ctx, "consumers", consumerID,
			map[string]any{"username": store.ForeignID(app["developer"]) + "_" + name})
		if e, ok := store.AsError(err); ok && e.Code == store.CodeUniqueViolation {
			return nil, &AppError{Status: 409, Message: fmt.Sprintf("application already exists with name: '%s'", name)}
		}
		if err != nil {
			return nil, fmt.Errorf("application %v: renaming its consumer: %w", app["id"], err)
		}
	}
	rec, err := s.Store.Update(ctx, store.ApplicationEntity, fmt.Sprint(app["id"]), upd)
	if err != nil {
		return nil, err
	}
	if rec["name"] == app["name"] && rec["redirect_uri"] == app["redirect_uri"] {
		return rec, nil
	}
	var creds []string
	err = s.Store.EachRecord(ctx, oauth2Credentials, store.ListQuery{ForeignField: "consumer", ForeignKey: consumerID},
		func(c map[string]any) error {
			creds = append(creds, fmt.Sprint(c["id"]))
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("application %v: credentials: %w", app["id"], err)
	}
	change := map[string]any{"name": rec["name"], "redirect_uris": nil}
	if uri, _ := rec["redirect_uri"].(string); uri != "" {
		change["redirect_uris"] = []any{uri}
	}
	for _, id := range creds {
		if _, err := s.Store.Update(ctx, oauth2Credentials, id, change); err != nil && !store.IsNotFound(err) {
			return nil, fmt.Errorf("application %v: credential %s: %w", app["id"], id, err)
		}
	}
	return rec, nil
}

// AddCredential gives an application one more oauth2 credential (in may
// set client_id, client_secret, hash_secret) and its key-auth key.
func (s Applications) AddCredential(ctx context.Context, app map[string]any, in map[string]any) (map[string]any, error) {
	ctx = store.WithTypedInput(ctx)
	cred := map[string]any{"consumer": app["consumer"], "name": app["name"]}
	if uri, _ := app["redirect_uri"].(string); uri != "" {
		cred["redirect_uris"] = []any{uri}
	}
	for _, k := range []string{"client_id", "client_secret", "hash_secret"} {
		if v, ok := in[k]; ok {
			cred[k] = v
		}
	}
	rec, err := s.Store.Insert(ctx, oauth2Credentials, cred)
	if err != nil {
		return nil, fmt.Errorf("application %v: oauth2 credential: %w", app["id"], err)
	}
	if _, ok := s.Store.Registry().Entity(keyauthCredentials); ok {
		if _, err := s.Store.Insert(ctx, keyauthCredentials, map[string]any{"consumer": app["consumer"], "key": rec["client_id"]}); err != nil {
			return nil, fmt.Errorf("application %v: key-auth key: %w", app["id"], err)
		}
	}
	return rec, nil
}

// Delete deletes an application through its consumer: the cascade takes
// the application, its registrations and credentials.
func (s Applications) Delete(ctx context.Context, app map[string]any) error {
	if id := store.ForeignID(app["consumer"]); id != "" {
		if _, err := s.Store.Delete(ctx, "consumers", id); err != nil {
			return fmt.Errorf("application %v: deleting its consumer: %w", app["id"], err)
		}
	}
	if _, err := s.Store.Delete(ctx, store.ApplicationEntity, fmt.Sprint(app["id"])); err != nil {
		return fmt.Errorf("application %v: %w", app["id"], err)
	}
	return nil
}

// RegistrationConfig returns the config of the service's enabled
// application-registration plugin, or nil when it has none.
func (s Applications) RegistrationConfig(ctx context.Context, serviceID string) (map[string]any, error) {
	var cfg map[string]any
	err := s.Store.EachRecord(ctx, "plugins", store.ListQuery{ForeignField: "service", ForeignKey: serviceID},
		func(pl map[string]any) error {
			if cfg == nil && pl["name"] == AppRegistrationPlugin && pl["enabled"] != false {
				cfg, _ = pl["config"].(map[string]any)
				if cfg == nil {
					cfg = map[string]any{}
				}
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("service %s: plugins: %w", serviceID, err)
	}
	return cfg, nil
}

// Register registers an application to a service: 400 without the
// service's application-registration plugin; approved at once when the
// plugin's auto_approve is on, else pending; suspended when the
// developer is not approved.
func (s Applications) Register(ctx context.Context, app map[string]any, serviceID string) (map[string]any, error) {
	ctx = store.WithTypedInput(ctx)
	svc, err := s.Store.Get(ctx, "services", serviceID)
	if store.IsNotFound(err) {
		return nil, &AppError{Status: 404, Message: "Not found"}
	}
	if err != nil {
		return nil, err
	}
	cfg, err := s.RegistrationConfig(ctx, fmt.Sprint(svc["id"]))
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, &AppError{Status: 400, Message: msgPluginMissing}
	}
	status := store.InstancePending
	if cfg["auto_approve"] == true {
		status = store.InstanceApproved
	}
	suspended := false
	if dev, err := s.Store.Get(ctx, "developers", store.ForeignID(app["developer"])); err == nil {
		n, _ := intOf(dev["status"])
		suspended = n != store.DeveloperApproved
	}
	return s.Store.Insert(ctx, store.ApplicationInstanceEntity, map[string]any{
		"application": map[string]any{"id": app["id"]}, "service": map[string]any{"id": svc["id"]},
		"status": status, "suspended": suspended,
	})
}

// OfDeveloper returns the developer's application with id, or a 404
// AppError when it is another's or unknown.
func (s Applications) OfDeveloper(ctx context.Context, developerID, id string) (map[string]any, error) {
	app, err := s.Store.Get(ctx, store.ApplicationEntity, id)
	if store.IsNotFound(err) || (err == nil && store.ForeignID(app["developer"]) != developerID) {
		return nil, &AppError{Status: 404, Message: "Not found"}
	}
	return app, err
}

// Instance returns the application's instance with id, or a 404
// AppError when it is another application's or unknown.
func (s Applications) Instance(ctx context.Context, app map[string]any, id string) (map[string]any, error) {
	inst, err := s.Store.Get(ctx, store.ApplicationInstanceEntity, id)
	if store.IsNotFound(err) || (err == nil && store.ForeignID(inst["application"]) != app["id"]) {
		return nil, &AppError{Status: 404, Message: "Not found"}
	}
	return inst, err
}

// --- portal API handlers ---

func (a *api) apps() Applications { return Applications{Store: a.opts.Store} }

// appFail answers an AppError with its status, anything else as fail.
func (a *api) appFail(c *fiber.Ctx, err error) error {
	if e, ok := err.(*AppError); ok {
		return message(c, e.Status, e.Message)
	}
	return a.fail(c, err)
}

// ownApp is the signed-in developer and their application :app; nil
// when it answered.
func (a *api) ownApp(c *fiber.Ctx) (dev, app map[string]any, err error) {
	dev, err = a.signedIn(c)
	if dev == nil {
		return nil, nil, err
	}
	app, err = a.apps().OfDeveloper(c.UserContext(), fmt.Sprint(dev["id"]), param(c, "app"))
	if err != nil {
		return nil, nil, a.appFail(c, err)
	}
	return dev, app, nil
}

func (a *api) listApplications(c *fiber.Ctx) error {
	dev, err := a.signedIn(c)
	if dev == nil {
		return err
	}
	ctx := c.UserContext()
	apps, err := a.records(ctx, store.ApplicationEntity, store.ListQuery{ForeignField: "developer", ForeignKey: fmt.Sprint(dev["id"])})
	if err == nil && c.Query("include_instances") == "true" {
		for _, app := range apps {
			if err = a.withInstances(ctx, app.(map[string]any)); err != nil {
				break
			}
		}
	}
	if err != nil {
		return a.fail(c, err)
	}
	return page(c, apps)
}

// withInstances sets the application's application_instances.
func (a *api) withInstances(ctx context.Context, app map[string]any) error {
	insts, err := a.instancesOf(ctx, app)
	app["application_instances"] = insts
	return err
}

func (a *api) instancesOf(ctx context.Context, app map[string]any) ([]any, error) {
	out, err := a.records(ctx, store.ApplicationInstanceEntity, store.ListQuery{ForeignField: "application", ForeignKey: fmt.Sprint(app["id"])})
	if out == nil {
		out = []any{}
	}
	return out, err
}

func (a *api) createApplication(c *fiber.Ctx) error {
	dev, err := a.signedIn(c)
	in, err := a.withBody(c, dev, err)
	if in == nil {
		return err
	}
	app, err := a.apps().Create(c.UserContext(), fmt.Sprint(dev["id"]), in)
	return a.reply(c, fiber.StatusOK, app, err)
}

func (a *api) getApplication(c *fiber.Ctx) error {
	_, app, err := a.ownApp(c)
	if app == nil {
		return err
	}
	return send(c, fiber.StatusOK, app)
}

func (a *api) patchApplication(c *fiber.Ctx) error {
	_, app, err := a.ownApp(c)
	in, err := a.withBody(c, app, err)
	if in == nil {
		return err
	}
	rec, err := a.apps().Update(c.UserContext(), app, in)
	return a.reply(c, fiber.StatusOK, rec, err)
}

func (a *api) deleteApplication(c *fiber.Ctx) error {
	_, app, err := a.ownApp(c)
	if app == nil {
		return err
	}
	return a.noContent(c, a.apps().Delete(c.UserContext(), app))
}

func (a *api) listInstances(c *fiber.Ctx) error {
	dev, app, err := a.ownApp(c)
	if app == nil {
		return err
	}
	want, filter := -1, c.Query("status") != ""
	if filter {
		n, ok := intOf(c.QueryInt("status", -1))
		if !ok || n < 0 {
			return message(c, fiber.StatusBadRequest, "invalid status")
		}
		want = n
	}
	insts, err := a.instancesOf(c.UserContext(), app)
	if err != nil {
		return a.fail(c, err)
	}
	var data []any
	for _, v := range insts {
		inst := v.(map[string]any)
		if n, _ := intOf(inst["status"]); filter && n != want {
			continue
		}
		full := map[string]any{}
		for k, x := range app {
			full[k] = x
		}
		full["developer"] = publicDeveloper(dev)
		inst["application"] = full
		data = append(data, inst)
	}
	return page(c, data)
}

func (a *api) createInstance(c *fiber.Ctx) error {
	_, app, err := a.ownApp(c)
	in, err := a.withBody(c, app, err)
	if in == nil {
		return err
	}
	svc, _ := in["service"].(map[string]any)
	sid, _ := svc["id"].(string)
	if sid == "" {
		return message(c, fiber.StatusBadRequest, "service.id required")
	}
	inst, err := a.apps().Register(c.UserContext(), app, sid)
	return a.reply(c, fiber.StatusCreated, inst, err)
}

// ownInstance is the signed-in developer's application :app's instance
// :instance; nil when it answered.
func (a *api) ownInstance(c *fiber.Ctx) (map[string]any, error) {
	_, app, err := a.ownApp(c)
	if app == nil {
		return nil, err
	}
	inst, err := a.apps().Instance(c.UserContext(), app, param(c, "instance"))
	if err != nil {
		return nil, a.appFail(c, err)
	}
	return inst, nil
}

func (a *api) getInstance(c *fiber.Ctx) error {
	inst, err := a.ownInstance(c)
	if inst == nil {
		return err
	}
	return send(c, fiber.StatusOK, inst)
}

func (a *api) deleteInstance(c *fiber.Ctx) error {
	inst, err := a.ownInstance(c)
	if inst == nil {
		return err
	}
	_, err = a.opts.Store.Delete(c.UserContext(), store.ApplicationInstanceEntity, fmt.Sprint(inst["id"]))
	return a.noContent(c, err)
}

// listCredentials is GET /applications/{id}/credentials: the app's
// oauth2 credentials, client_id and client_secret included.
func (a *api) listCredentials(c *fiber.Ctx) error {
	_, app, err := a.ownApp(c)
	if app == nil {
		return err
	}
	return a.pageOf(c, oauth2Credentials, store.ListQuery{ForeignField: "consumer", ForeignKey: store.ForeignID(app["consumer"])})
}

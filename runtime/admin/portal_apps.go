package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehouse/gatehouse/runtime/portalapi"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

// The Developer Portal's applications on the Admin API (Kong Enterprise's
// /applications, /developers/{d}/applications, /services/{s}/applications,
// PORTALSPEC §5). The generic entity routes serve the rest:
// GET|PATCH /applications/{a}, GET|PATCH|DELETE
// /applications/{a}/application_instances/{i} and
// /services/{s}/application_instances/{i} — a PATCH {"status":0}
// approves a registration, {"status":3} revokes it, and the
// application-registration plugin reads the instance on every request.
// The endpoints here are those with side effects: creating an
// application creates its consumer and oauth2 credential, deleting it
// deletes them, and registering it to a service needs the service's
// application-registration plugin (auto_approve approves at once).

// ResourceApplications is the resource the application endpoints are
// authorized as.
const ResourceApplications = "applications"

// applicationEndpoints are the application endpoints with side effects.
func (h *portalHandler) applicationEndpoints() []Endpoint {
	ep := func(method, path string, fn http.HandlerFunc) Endpoint {
		return Endpoint{Method: method, Path: path, Resource: ResourceApplications, Handler: fn}
	}
	return []Endpoint{
		ep(http.MethodGet, "/developers/:developer/applications", h.listDeveloperApps),
		ep(http.MethodPost, "/developers/:developer/applications", h.createDeveloperApp),
		ep(http.MethodGet, "/developers/:developer/applications/:application", h.getDeveloperApp),
		ep(http.MethodDelete, "/developers/:developer/applications/:application", h.deleteDeveloperApp),
		ep(http.MethodDelete, "/applications/:application", h.deleteApp),
		ep(http.MethodPost, "/applications/:application/application_instances", h.registerApp),
		ep(http.MethodGet, "/services/:service/applications", h.serviceApps),
		// Authorized as the generic route it replaces is.
		{Method: http.MethodGet, Path: "/services/:service/application_instances", Resource: store.ApplicationInstanceEntity,
			Handler: http.HandlerFunc(h.serviceInstances)},
		{Method: http.MethodPost, Path: "/developers/invite", Resource: ResourceDevelopers, Handler: http.HandlerFunc(h.inviteDevelopers)},
	}
}

func (h *portalHandler) apps() portalapi.Applications { return portalapi.Applications{Store: h.st} }

// appFail answers an application refusal with its status and message,
// anything else as portalFail.
func appFail(w http.ResponseWriter, err error) {
	var ae *portalapi.AppError
	if errors.As(err, &ae) {
		writeKong(w, ae.Status, map[string]any{"message": ae.Message})
		return
	}
	portalFail(w, err)
}

// developerApp reads the path's developer and, when named, its application.
func (h *portalHandler) developerApp(w http.ResponseWriter, r *http.Request) (dev, app map[string]any, ok bool) {
	dev, err := h.st.Get(r.Context(), "developers", pathParam(r, "developer"))
	if err != nil {
		portalFail(w, err)
		return nil, nil, false
	}
	if key := pathParam(r, "application"); key != "" {
		app, err = h.apps().OfDeveloper(r.Context(), fmt.Sprint(dev["id"]), key)
		if err != nil {
			appFail(w, err)
			return nil, nil, false
		}
	}
	return dev, app, true
}

func (h *portalHandler) listDeveloperApps(w http.ResponseWriter, r *http.Request) {
	dev, _, ok := h.developerApp(w, r)
	if !ok {
		return
	}
	data := []any{}
	err := listWhere(r.Context(), h.st, store.ApplicationEntity,
		store.ListQuery{ForeignField: "developer", ForeignKey: fmt.Sprint(dev["id"])},
		func(app map[string]any) { data = append(data, app) })
	if err != nil {
		portalFail(w, err)
		return
	}
	writeKong(w, http.StatusOK, map[string]any{"data": data, "next": nil, "total": len(data)})
}

func (h *portalHandler) createDeveloperApp(w http.ResponseWriter, r *http.Request) {
	dev, _, ok := h.developerApp(w, r)
	if !ok {
		return
	}
	in, ctx, err := h.input(r)
	if err != nil {
		portalFail(w, err)
		return
	}
	app, err := h.apps().Create(ctx, fmt.Sprint(dev["id"]), in)
	if err != nil {
		appFail(w, err)
		return
	}
	writeKong(w, http.StatusCreated, app)
}

func (h *portalHandler) getDeveloperApp(w http.ResponseWriter, r *http.Request) {
	if _, app, ok := h.developerApp(w, r); ok {
		writeKong(w, http.StatusOK, app)
	}
}

func (h *portalHandler) deleteDeveloperApp(w http.ResponseWriter, r *http.Request) {
	_, app, ok := h.developerApp(w, r)
	if !ok {
		return
	}
	if err := h.apps().Delete(r.Context(), app); err != nil {
		portalFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteApp is DELETE /applications/{a}: the application with its
// consumer, credentials and registrations; 204 for an unknown one too.
func (h *portalHandler) deleteApp(w http.ResponseWriter, r *http.Request) {
	app, err := h.st.Get(r.Context(), store.ApplicationEntity, pathParam(r, "application"))
	if store.IsNotFound(err) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err == nil {
		err = h.apps().Delete(r.Context(), app)
	}
	if err != nil {
		portalFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// registerApp is POST /applications/{a}/application_instances
// {"service":{"id":...}}: 201 with the instance; its status is the
// service's plugin's auto_approve, not the body's.
func (h *portalHandler) registerApp(w http.ResponseWriter, r *http.Request) {
	app, err := h.st.Get(r.Context(), store.ApplicationEntity, pathParam(r, "application"))
	if err != nil {
		portalFail(w, err)
		return
	}
	in, ctx, err := h.input(r)
	if err != nil {
		portalFail(w, err)
		return
	}
	svc, _ := in["service"].(map[string]any)
	sid, _ := svc["id"].(string)
	if sid == "" {
		writeKong(w, http.StatusBadRequest, map[string]any{"message": "service.id required"})
		return
	}
	inst, err := h.apps().Register(ctx, app, sid)
	if err != nil {
		appFail(w, err)
		return
	}
	writeKong(w, http.StatusCreated, inst)
}

// serviceApps is GET /services/{s}/applications: the applications
// registered to the service (Kong Manager's "Service Contracts").
func (h *portalHandler) serviceApps(w http.ResponseWriter, r *http.Request) {
	svc, err := h.st.Get(r.Context(), "services", pathParam(r, "service"))
	if err != nil {
		portalFail(w, err)
		return
	}
	var ids []string
	err = listWhere(r.Context(), h.st, store.ApplicationInstanceEntity,
		store.ListQuery{ForeignField: "service", ForeignKey: fmt.Sprint(svc["id"])},
		func(inst map[string]any) { ids = append(ids, store.ForeignID(inst["application"])) })
	if err != nil {
		portalFail(w, err)
		return
	}
	data := []any{}
	for _, id := range ids {
		app, err := h.st.Get(r.Context(), store.ApplicationEntity, id)
		if store.IsNotFound(err) {
			continue
		}
		if err != nil {
			portalFail(w, err)
			return
		}
		data = append(data, app)
	}
	writeKong(w, http.StatusOK, map[string]any{"data": data, "total": len(data)})
}

// serviceInstances is GET /services/{s}/application_instances
// (?status=n, size, offset): the service's registrations, each with its
// application embedded and the application's developer embedded in it
// (PORTALSPEC §5.3; Kong's reference shows the same for a developer's
// application instances), so Kong Manager's service page names the
// application and its developer without another call per row.
func (h *portalHandler) serviceInstances(w http.ResponseWriter, r *http.Request) {
	svc, err := h.st.Get(r.Context(), "services", pathParam(r, "service"))
	if err != nil {
		portalFail(w, err)
		return
	}
	var keep func(map[string]any) bool
	if v := r.URL.Query().Get("status"); v != "" {
		want, err := strconv.Atoi(v)
		if err != nil || want < 0 || want >= len(store.InstanceStatusNames) {
			portalFail(w, violation("status", fmt.Sprintf("expected an integer between 0 and %d", len(store.InstanceStatusNames)-1)))
			return
		}
		keep = func(inst map[string]any) bool { return fmt.Sprint(inst["status"]) == strconv.Itoa(want) }
	}
	svcID := fmt.Sprint(svc["id"])
	emb := embedder{h: h, apps: map[string]map[string]any{}, devs: map[string]map[string]any{}}
	h.listPageQuery(w, r, store.ApplicationInstanceEntity, "/services/"+url.PathEscape(svcID)+"/application_instances",
		store.ListQuery{ForeignField: "service", ForeignKey: svcID}, keep, emb.instance)
}

// embedder expands application instances, reading each application and
// developer once per listing.
type embedder struct {
	h    *portalHandler
	apps map[string]map[string]any // by id; nil: gone
	devs map[string]map[string]any
}

// instance returns inst with its application expanded, and the
// application's developer expanded in it (publicDeveloper: no password).
// A reference whose record is gone (deleted meanwhile) stays {"id"}.
func (e *embedder) instance(ctx context.Context, inst map[string]any) (map[string]any, error) {
	return e.expand(ctx, inst, "application", store.ApplicationEntity, e.apps, func(ctx context.Context, app map[string]any) (map[string]any, error) {
		return e.expand(ctx, app, "developer", "developers", e.devs, func(_ context.Context, dev map[string]any) (map[string]any, error) {
			return publicDeveloper(dev), nil
		})
	})
}

// expand returns a copy of rec whose foreign key field holds the record it
// references (read from entity once, kept in cache, shown by present); rec
// itself when the field is empty or the record is gone.
func (e *embedder) expand(ctx context.Context, rec map[string]any, field, entity string, cache map[string]map[string]any,
	present func(context.Context, map[string]any) (map[string]any, error)) (map[string]any, error) {
	id := store.ForeignID(rec[field])
	if id == "" {
		return rec, nil
	}
	ref, seen := cache[id]
	if !seen {
		got, err := e.h.st.Get(ctx, entity, id)
		if err != nil && !store.IsNotFound(err) {
			return nil, fmt.Errorf("%s %s of %v: %w", field, id, rec["id"], err)
		}
		if got != nil {
			if got, err = present(ctx, got); err != nil {
				return nil, err
			}
		}
		cache[id], ref = got, got
	}
	if ref == nil {
		return rec, nil
	}
	out := make(map[string]any, len(rec))
	for k, v := range rec {
		out[k] = v
	}
	out[field] = ref
	return out, nil
}

// syncSuspended applies a developer's status to the registrations of
// their applications: suspended unless the developer is approved, so a
// rejected or revoked developer's applications stop consuming services
// (the application-registration plugin refuses suspended registrations)
// and an approved one's resume.
func (h *portalHandler) syncSuspended(ctx context.Context, dev map[string]any) error {
	suspended := fmt.Sprint(dev["status"]) != fmt.Sprint(store.DeveloperApproved)
	var apps []string
	err := listWhere(ctx, h.st, store.ApplicationEntity,
		store.ListQuery{ForeignField: "developer", ForeignKey: fmt.Sprint(dev["id"])},
		func(app map[string]any) { apps = append(apps, fmt.Sprint(app["id"])) })
	if err != nil {
		return err
	}
	var change []string
	for _, id := range apps {
		err := listWhere(ctx, h.st, store.ApplicationInstanceEntity,
			store.ListQuery{ForeignField: "application", ForeignKey: id},
			func(inst map[string]any) {
				if (inst["suspended"] == true) != suspended {
					change = append(change, fmt.Sprint(inst["id"]))
				}
			})
		if err != nil {
			return err
		}
	}
	for _, id := range change {
		_, err := h.st.Update(store.WithTypedInput(ctx), store.ApplicationInstanceEntity, id, map[string]any{"suspended": suspended})
		if err != nil && !store.IsNotFound(err) {
			return fmt.Errorf("developer %v: suspending registration %s: %w", dev["id"], id, err)
		}
	}
	return nil
}

// Portal consumers (PORTALSPEC §7.6 [D]): the consumer behind a
// Developer Portal application (Kong's type APPLICATION) or a developer's
// own consumer (type DEVELOPER, store.DeveloperConsumerUsername) is not
// shown by the generic /consumers routes. The proxy still authenticates
// its credentials, and /oauth2, /key-auths... still list them.

// msgConsumerNotFound is Kong's 404 message for a consumer of another
// type than proxy.
const msgConsumerNotFound = "Not Found"

// consumerGuarded returns the consumer key of the paths Kong EE guards
// against non-proxy consumers: /consumers/{c} (every method [D]: Kong
// lets PUT, and in later releases DELETE, through to the generic
// handler, which would overwrite or delete the application's consumer
// behind the portal's back) and /consumers/{c}/plugins[/{p}] — except
// a POST creating a plugin there, which keeps the nested create's one
// write transaction (createunder_test.go) and scopes a plugin to the
// consumer as an administrator asked.
func consumerGuarded(t *target, method string) (string, bool) {
	switch {
	case t.entity.Name == "consumers" && t.parentEntity == nil && t.key != "":
		return t.key, true
	case t.parentEntity != nil && t.parentEntity.Name == "consumers" && t.entity.Name == "plugins" &&
		(method != fiber.MethodPost || t.key != ""):
		return t.parentKey, true
	}
	return "", false
}

// portalConsumer reports whether the consumer a /consumers/{key} path
// names (id or username) is one of the portal's. An unknown consumer is
// not (the generic route answers for it).
func (s *Server) portalConsumer(ctx context.Context, key string) (bool, error) {
	rec, err := s.store.Get(ctx, "consumers", key)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.store.IsPortalConsumer(ctx, rec)
}

// withoutPortalConsumers drops, in place, the portal's consumers from a
// /consumers page. The page may come out shorter than asked (or empty
// with a next link), as a filtered page may.
func (s *Server) withoutPortalConsumers(ctx context.Context, recs []map[string]any) ([]map[string]any, error) {
	if len(recs) == 0 {
		return recs, nil
	}
	if len(recs) == 1 {
		hidden, err := s.store.IsPortalConsumer(ctx, recs[0])
		if err != nil || !hidden {
			return recs, err
		}
		return recs[:0], nil
	}
	portal, err := s.store.PortalConsumerSet(ctx)
	if err != nil || portal.Empty() {
		return recs, err
	}
	out := recs[:0]
	for _, rec := range recs {
		if !portal.Has(rec) {
			out = append(out, rec)
		}
	}
	clear(recs[len(out):])
	return out, nil
}

package admin_test

import (
	"net/http"
	"testing"
)

// TestForeignKeyAsWholeEntity: a foreign key given as the whole referenced
// entity, as Kong's Go client sends it when a caller passes the object it
// read back, is accepted and only its primary key used, as Kong does; in
// form bodies too (service.id=...&service.name=...). When both the id and
// the endpoint key are given, the id wins.
func TestForeignKeyAsWholeEntity(t *testing.T) {
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	svc := c.json("PUT", "/services/5cc8dee4-066d-492e-b2f8-bd77eb0a4c86", map[string]any{"name": "one", "url": "http://a.test:8080/x"})
	expect(t, svc, http.StatusOK, "service one")
	two := c.form("POST", "/services", "name=two", "host=b.test")
	expect(t, two, http.StatusCreated, "service two")

	// The whole service, as read back from the Admin API (numbers, nulls,
	// arrays and all).
	whole := svc.body
	r := c.json("PUT", "/routes/0b4e2e6a-5a7e-4a8e-9a43-0c7a5fd6a001", map[string]any{
		"name": "r1", "paths": []string{"/r1"}, "service": whole})
	expect(t, r, http.StatusOK, "route with the whole service")
	equal(t, "route.service", r.get("service"), map[string]any{"id": "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"})

	// Both the id and another service's name: the id wins.
	r = c.json("POST", "/routes", map[string]any{"name": "r2", "paths": []string{"/r2"},
		"service": map[string]any{"id": "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86", "name": "two", "retries": 5, "host": "b.test"}})
	expect(t, r, http.StatusCreated, "route with id and name")
	equal(t, "route.service", r.get("service"), map[string]any{"id": "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"})

	// Form bodies.
	r = c.form("POST", "/routes", "name=r3", "paths=/r3", "service.id=5cc8dee4-066d-492e-b2f8-bd77eb0a4c86", "service.name=two", "service.retries=5")
	expect(t, r, http.StatusCreated, "form route with service.id and service.name")
	equal(t, "route.service", r.get("service"), map[string]any{"id": "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"})
	r = c.form("POST", "/routes", "name=r4", "paths=/r4", "service.name=two")
	expect(t, r, http.StatusCreated, "form route with service.name")
	equal(t, "route.service", r.get("service"), map[string]any{"id": two.str("id")})

	// PATCH with the whole other service moves the route.
	r = c.json("PATCH", "/routes/r1", map[string]any{"service": two.body})
	expect(t, r, http.StatusOK, "patch with the whole service")
	equal(t, "route.service", r.get("service"), map[string]any{"id": two.str("id")})

	// A plugin scoped with whole entities.
	route := c.get("/routes/r2")
	cons := c.form("POST", "/consumers", "username=u")
	expect(t, cons, http.StatusCreated, "consumer")
	p := c.json("POST", "/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 5},
		"route": route.body, "consumer": cons.body})
	expect(t, p, http.StatusCreated, "plugin with whole route and consumer")
	equal(t, "plugin.route", p.get("route"), map[string]any{"id": route.str("id")})
	equal(t, "plugin.consumer", p.get("consumer"), map[string]any{"id": cons.str("id")})

	// What stays refused: no key at all, and a key of the wrong type.
	r = c.json("POST", "/routes", map[string]any{"paths": []string{"/r5"}, "service": map[string]any{"host": "b.test", "retries": 5}})
	expect(t, r, http.StatusBadRequest, "service without a key")
	r = c.json("POST", "/routes", map[string]any{"paths": []string{"/r6"}, "service": map[string]any{"id": 5}})
	expect(t, r, http.StatusBadRequest, "service id not a string")
	// A whole entity whose id is unknown is a foreign key violation.
	r = c.json("POST", "/routes", map[string]any{"paths": []string{"/r7"}, "service": map[string]any{"id": "11111111-066d-492e-b2f8-bd77eb0a4c86", "name": "one"}})
	expect(t, r, http.StatusBadRequest, "unknown service id")
	equal(t, "code", r.get("code"), float64(4))
}

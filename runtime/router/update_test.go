package router

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

// copyMap returns a new map object with m's entries, as the store hands
// out for a changed entity.
func copyMap(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// routerShape is what must agree between an Update and a Compile: the
// matchers in rank order, the routes in input order, the errors.
func routerShape(r *Router, err error) (ms, routes, errs []string) {
	for i := range r.ms {
		ms = append(ms, r.ms[i].route.ID+" "+r.ms[i].id)
	}
	for _, rt := range r.routes {
		routes = append(routes, rt.ID)
	}
	var ce *CompileError
	if errors.As(err, &ce) {
		for _, e := range ce.Routes {
			errs = append(errs, e.Error())
		}
	} else if err != nil {
		errs = append(errs, err.Error())
	}
	slices.Sort(errs)
	return ms, routes, errs
}

// TestUpdateAgreesWithCompile: after each round of random changes (routes
// changed, added, deleted, a service replaced or deleted, broken routes,
// duplicate ids), Update from the previous router gives the router Compile
// gives: same matchers in the same order, same routes, same errors, same
// match for every request of the corpus; and routes nothing touched are
// reused, not compiled again.
func TestUpdateAgreesWithCompile(t *testing.T) {
	rng := rand.New(rand.NewSource(15))
	routes := benchRoutes(400)
	services := benchServices()
	prev, _ := Compile(routes, services)
	next := 400
	sawErrs := 0
	for round := 0; round < 40; round++ {
		touched := map[string]bool{}
		services = maps(services)
		for k := 0; k < 1+rng.Intn(6); k++ {
			i := rng.Intn(len(routes))
			switch op := rng.Intn(9); op {
			case 0: // a changed path
				c := copyMap(routes[i])
				c["paths"] = list(fmt.Sprintf("/changed%d/%d", round, k))
				routes[i] = c
			case 1: // a changed priority field
				c := copyMap(routes[i])
				c["hosts"] = list(fmt.Sprintf("moved%d.example.com", round))
				c["regex_priority"] = int64(rng.Intn(5))
				routes[i] = c
			case 2: // deleted
				routes = slices.Delete(routes, i, i+1)
			case 3: // added
				r := benchRoute(next)
				next++
				routes = append(routes, r)
			case 4: // a service replaced: its routes see the new object
				id := fmt.Sprintf("s%d", rng.Intn(100))
				if svc := services[id]; svc != nil {
					c := copyMap(svc)
					c["path"] = fmt.Sprintf("/svc%d", round)
					services[id] = c
					touched[id] = true
				}
			case 5: // a service deleted: its routes fail
				delete(services, fmt.Sprintf("s%d", rng.Intn(100)))
			case 6: // a broken regex path beside a good prefix (one group fails)
				c := copyMap(routes[i])
				c["paths"] = list("/fine", `~/bad/(`)
				routes[i] = c
			case 7: // a duplicate id
				c := copyMap(routes[rng.Intn(len(routes))])
				c["name"] = nil
				routes = append(routes, c)
			case 8: // an unchanged route handed in again, in another place
				j := rng.Intn(len(routes))
				routes[i], routes[j] = routes[j], routes[i]
			}
		}
		fullR, fullErr := Compile(routes, services)
		incR, incErr := prev.Update(routes, services)
		fms, froutes, ferrs := routerShape(fullR, fullErr)
		ims, iroutes, ierrs := routerShape(incR, incErr)
		if !slices.Equal(fms, ims) {
			t.Fatalf("round %d: matchers differ:\nfull %v\nincr %v", round, fms, ims)
		}
		if !slices.Equal(froutes, iroutes) {
			t.Fatalf("round %d: routes differ", round)
		}
		if !slices.Equal(ferrs, ierrs) {
			t.Fatalf("round %d: errors differ:\nfull %v\nincr %v", round, ferrs, ierrs)
		}
		sawErrs += len(ierrs)
		var fm, im Match
		for j := 0; j < next; j++ {
			q := benchRequest(j)
			fok, iok := fullR.Match(q, &fm), incR.Match(q, &im)
			if fok != iok || (fok && (fm.Route.ID != im.Route.ID || fm.UpstreamPath != im.UpstreamPath)) {
				t.Fatalf("round %d: request %d: full %v %v, incremental %v %v", round, j, fok, fm.Route, iok, im.Route)
			}
		}
		// Routes whose maps did not change are the previous Route objects.
		reused := 0
		for _, rt := range incR.routes {
			if old := prev.byID[rt.ID]; old != nil && sameMap(old.Raw, rt.Raw) && !touched[rt.ServiceID] {
				if old != rt {
					t.Fatalf("round %d: unchanged route %s compiled again", round, rt.ID)
				}
				reused++
			}
		}
		if reused < len(incR.routes)/2 {
			t.Fatalf("round %d: only %d of %d routes reused", round, reused, len(incR.routes))
		}
		prev = incR
	}
	if sawErrs == 0 {
		t.Fatal("no round had a route error: the error paths went untested")
	}
}

// maps copies the outer map (the inner ones are shared, as the snapshot
// builder's entity set shares unchanged entities).
func maps(m map[string]map[string]any) map[string]map[string]any {
	c := make(map[string]map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// TestUpdateNil: Update on a nil router compiles everything.
func TestUpdateNil(t *testing.T) {
	var r *Router
	got, err := r.Update(benchRoutes(40), benchServices())
	if err != nil || got.Len() < 40 {
		t.Fatalf("Update from nil: %d matchers, %v", got.Len(), err)
	}
}

// TestUpdateKeepsOptions: an Update compiles with the options of the
// router it starts from.
func TestUpdateKeepsOptions(t *testing.T) {
	rt := map[string]any{"id": "a", "paths": list("/p"), "path_handling": "v1", "service": map[string]any{"id": "s"}}
	svcs := map[string]map[string]any{"s": {"id": "s", "protocol": "http", "host": "u", "path": "/base"}}
	r, err := CompileWithOptions([]map[string]any{rt}, svcs, Options{PathHandlingV1: true})
	if err != nil {
		t.Fatal(err)
	}
	changed := copyMap(rt)
	r2, err := r.Update([]map[string]any{changed}, svcs)
	if err != nil {
		t.Fatal(err)
	}
	var m1, m2 Match
	q := &Request{Method: "GET", Path: "/p/x"}
	if !r.Match(q, &m1) || !r2.Match(q, &m2) || m1.UpstreamPath != m2.UpstreamPath {
		t.Fatalf("upstream paths %q and %q", m1.UpstreamPath, m2.UpstreamPath)
	}
}

// BenchmarkUpdate10000 is one changed route in 10,000: what a snapshot
// rebuild after one Admin API write pays for the router.
func BenchmarkUpdate10000(b *testing.B) {
	routes := benchRoutes(10000)
	services := benchServices()
	r, err := Compile(routes, services)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := (i * 7919) % len(routes)
		c := copyMap(routes[k])
		c["regex_priority"] = int64(i % 3)
		routes[k] = c
		if r, err = r.Update(routes, services); err != nil {
			b.Fatal(err)
		}
	}
}

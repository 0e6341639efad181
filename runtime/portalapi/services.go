package portalapi

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
	"gopkg.in/yaml.v3"
)

// GET /application_services (PORTALSPEC §3.10; C-code Kong EE
// kong/portal/crud_helpers.lua get_application_services): the services
// carrying an application-registration plugin, each with the portal route
// of the spec linked to it through document_objects.

// authFields are the oauth2 fields of auth_plugin_config.
var authFields = []string{"scopes", "auth_header_name", "provision_key", "enable_implicit_grant",
	"enable_password_grant", "enable_client_credentials", "enable_authorization_code"}

// ServiceFilter is the query of GET /application_services.
type ServiceFilter struct {
	// Name keeps the services whose display_name contains it (any case);
	// "" keeps all.
	Name string
	// Status keeps the services whose instance (of the app_id's
	// application) has this status, -1 those without an instance; nil
	// keeps all. A status that is not a number keeps none (NoStatus).
	Status *int
	// NoStatus is set when the status given is not a number.
	NoStatus bool
}

// ParseServiceFilter reads name and status as Kong does: status is a
// number (Lua's tonumber: "1", "1.0", " 1 "), else no service matches.
func ParseServiceFilter(name, status string, hasStatus bool) ServiceFilter {
	f := ServiceFilter{Name: name}
	if !hasStatus {
		return f
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(status), 64)
	if err != nil || n != float64(int(n)) {
		f.NoStatus = true
		return f
	}
	i := int(n)
	f.Status = &i
	return f
}

// keepsName reports whether a plugin's display_name passes the name filter.
func (f ServiceFilter) keepsName(displayName any) bool {
	if f.Name == "" {
		return true
	}
	s, ok := displayName.(string)
	return ok && strings.Contains(strings.ToLower(s), strings.ToLower(f.Name))
}

// keepsInstance reports whether an instance (nil: none) passes the status
// filter.
func (f ServiceFilter) keepsInstance(inst map[string]any) bool {
	switch {
	case f.NoStatus:
		return false
	case f.Status == nil:
		return true
	case *f.Status == -1:
		return inst == nil
	case inst == nil:
		return false
	}
	n, ok := intOf(inst["status"])
	return ok && n == *f.Status
}

// applicationServices is GET /application_services: the services with
// an application-registration plugin, with the instance of app_id's
// application when given, filtered by name and status.
func (a *api) applicationServices(c *fiber.Ctx) error {
	dev, err := a.signedIn(c)
	if dev == nil {
		return err
	}
	ctx := c.UserContext()
	var app map[string]any
	if id := c.Query("app_id"); id != "" {
		app, err = a.apps().OfDeveloper(ctx, fmt.Sprint(dev["id"]), id)
		if err != nil {
			if _, ok := err.(*AppError); ok {
				return message(c, fiber.StatusNotFound, "Application not found")
			}
			return a.fail(c, err)
		}
	}
	status := c.Context().QueryArgs().Peek("status")
	filter := ParseServiceFilter(c.Query("name"), string(status), status != nil)
	var plugins []map[string]any
	err = a.opts.Store.EachRecord(ctx, "plugins", store.ListQuery{}, func(pl map[string]any) error {
		cfg, _ := pl["config"].(map[string]any)
		if pl["name"] == AppRegistrationPlugin && pl["enabled"] != false && store.ForeignID(pl["service"]) != "" &&
			filter.keepsName(cfg["display_name"]) {
			plugins = append(plugins, pl)
		}
		return nil
	})
	if err != nil {
		return a.fail(c, err)
	}
	var data []any
	for _, pl := range plugins {
		row, err := a.serviceRow(ctx, dev, app, pl, filter)
		if err != nil {
			return a.fail(c, err)
		}
		if row != nil {
			data = append(data, row)
		}
	}
	return page(c, data)
}

// serviceRow is one /application_services row, or nil when the filter or
// the linked spec's readable_by leaves the service out.
func (a *api) serviceRow(ctx context.Context, dev, app, pl map[string]any, filter ServiceFilter) (map[string]any, error) {
	cfg, _ := pl["config"].(map[string]any)
	sid := store.ForeignID(pl["service"])
	var inst map[string]any
	if app != nil {
		var err error
		inst, err = a.opts.Store.Get(ctx, store.ApplicationInstanceEntity, store.CompositeID(fmt.Sprint(app["id"]), sid))
		if err != nil && !store.IsNotFound(err) {
			return nil, err
		}
	}
	if !filter.keepsInstance(inst) {
		return nil, nil
	}
	route, readable, err := a.documentRoute(ctx, dev, sid)
	if err != nil || !readable {
		return nil, err
	}
	auth := map[string]any{}
	for _, f := range authFields {
		auth[f] = cfg[f]
	}
	row := map[string]any{"id": sid, "name": cfg["display_name"], "app_registration_config": cfg,
		"auth_plugin_config": auth}
	if route != "" {
		row["document_route"] = route
	}
	if inst != nil {
		row["instance"] = inst
	}
	return row, nil
}

// documentRoute is the portal route of the spec linked to the service
// (its last document_objects row, as Kong): "" when none, or when the file
// is missing, unparseable or not output. readable is false when the spec
// names readers (readable_by) the developer is not among: Kong leaves
// such a service out of the list.
func (a *api) documentRoute(ctx context.Context, dev map[string]any, serviceID string) (route string, readable bool, err error) {
	var docPath string
	err = a.opts.Store.EachRecord(ctx, "document_objects", store.ListQuery{ForeignField: "service", ForeignKey: serviceID},
		func(doc map[string]any) error {
			docPath, _ = doc["path"].(string)
			return nil
		})
	if err != nil || docPath == "" {
		return "", true, err
	}
	file, err := a.opts.Store.Get(ctx, "files", docPath)
	if store.IsNotFound(err) {
		return "", true, nil
	}
	if err != nil {
		return "", false, err
	}
	contents, _ := file["contents"].(string)
	hm, err := store.ParseHeadmatter(docPath, contents)
	if err != nil {
		return "", true, nil // Kong: no file meta, no route, the service stays
	}
	if len(hm.ReadableBy) > 0 && !canRead(dev, file) {
		return "", false, nil
	}
	collections, err := a.portalCollections(ctx)
	if err != nil {
		return "", false, err
	}
	if _, ok := hm.Fields["title"]; !ok {
		// Kong's spec title: the headmatter's, else the spec's info.title.
		var spec struct {
			Info struct {
				Title string `yaml:"title"`
			} `yaml:"info"`
		}
		if yamlObject(contents, &spec) && spec.Info.Title != "" {
			if hm.Fields == nil { // a spec without x-headmatter
				hm.Fields = map[string]any{}
			}
			hm.Fields["title"] = spec.Info.Title
		}
	}
	return FileRoute(docPath, hm, collections), true, nil
}

// Collection is a portal.conf.yaml collection: its route pattern
// (":name", ":stub", ":title", ":collection") and whether its files are
// output.
type Collection struct {
	Route  string `yaml:"route"`
	Output bool   `yaml:"output"`
}

// defaultSpecs is Kong's specs collection when portal.conf.yaml declares
// none.
var defaultSpecs = Collection{Route: "/documentation/:name", Output: true}

// portalCollections reads the collections of the portal's
// portal.conf.yaml (a missing or unreadable file declares none); specs
// are always there.
func (a *api) portalCollections(ctx context.Context) (map[string]Collection, error) {
	out := map[string]Collection{}
	file, err := a.opts.Store.Get(ctx, "files", "portal.conf.yaml")
	switch {
	case store.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("portal api: reading portal.conf.yaml: %w", err)
	default:
		contents, _ := file["contents"].(string)
		var conf struct {
			Collections map[string]Collection `yaml:"collections"`
		}
		if yamlObject(contents, &conf) {
			out = conf.Collections
		}
	}
	if out == nil {
		out = map[string]Collection{}
	}
	if _, ok := out["specs"]; !ok {
		out["specs"] = defaultSpecs
	}
	return out, nil
}

// yamlObject decodes a YAML document into v, reporting success; the
// decoder's panics (it refuses excessive aliasing) are a failure.
func yamlObject(contents string, v any) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return yaml.Unmarshal([]byte(contents), v) == nil
}

// contentExts are the extensions Kong's portal renders (txt, md, html,
// json, yaml, yml).
var contentExts = map[string]bool{"txt": true, "md": true, "html": true, "json": true, "yaml": true, "yml": true}

// FileRoute is the portal route of a portal file, as Kong's
// file_helpers.parse_content resolves it: a spec "specs/<dir>/<name>.<ext>"
// is a file of the specs collection, routed by the collection's pattern
// (by default /documentation/<name>, <name> up to the first dot); a
// content page "content/<dir>/<name>.<ext>" is /<dir>/<name> (an index
// page its directory); headmatter `route` wins, `output: false` (or a
// collection that is not output) gives "". Other paths have no route.
func FileRoute(filePath string, hm store.Headmatter, collections map[string]Collection) string {
	p := filePath
	if strings.HasPrefix(p, "specs/") {
		p = "content/_specs/" + strings.TrimPrefix(p, "specs/")
	}
	if !strings.HasPrefix(p, "content/") {
		return ""
	}
	dir, file := path.Split(p)
	name, ext, _ := strings.Cut(file, ".")
	if i := strings.LastIndexByte(file, '.'); i >= 0 {
		ext = file[i+1:]
	}
	if !contentExts[ext] || name == "" {
		return ""
	}
	base := strings.TrimSuffix(dir, "/")
	route := base + "/" + name
	if name == "index" {
		route = base
	}
	route = strings.TrimPrefix(route, "content")
	if route == "" {
		route = "/"
	}
	if !strings.HasPrefix(route, "/") {
		route = "/" + route
	}
	explicit, _ := hm.Fields["route"].(string)
	output := hm.Fields["output"] != false
	if explicit != "" {
		route = explicit
	}
	if strings.HasPrefix(route, "/_") && strings.LastIndex(route, "/_") == 0 {
		stub, _, _ := strings.Cut(strings.TrimPrefix(route, "/_"), "/")
		coll, ok := collections[stub]
		if !ok || !coll.Output {
			output = false
		}
		if explicit == "" && ok && coll.Route != "" {
			title, _ := hm.Fields["title"].(string)
			stubField, _ := hm.Fields["stub"].(string)
			route = strings.NewReplacer(":collection", stub, ":stub", stubField, ":title", title, ":name", name).Replace(coll.Route)
		}
	}
	if !output {
		return ""
	}
	return route
}

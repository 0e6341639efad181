package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/store/schema"
)

// The Developer Portal's applications (Kong Enterprise's `applications`
// and `application_instances`, PORTALSPEC §3.8, §3.9, §7.5): a
// developer's client application, backed by a hidden consumer that holds
// its oauth2 credential, and its registrations to services ("service
// contracts"), which an administrator (or the service's
// application-registration plugin's auto_approve) approves. Like the
// other portal entities they stay out of declarative configuration.

// The statuses of an application instance: Kong's status enum, shared
// with developers (0 approved ... 5 unverified).
const (
	InstanceApproved   = 0
	InstancePending    = 1
	InstanceRejected   = 2
	InstanceRevoked    = 3
	InstanceInvited    = 4
	InstanceUnverified = 5
)

// InstanceStatusNames are the labels of the statuses, by value, as Kong
// writes them in its "Developer status: <LABEL>" messages.
var InstanceStatusNames = []string{"APPROVED", "PENDING", "REJECTED", "REVOKED", "INVITED", "UNVERIFIED"}

// The entity names.
const (
	ApplicationEntity         = "applications"
	ApplicationInstanceEntity = "application_instances"
)

func init() {
	// Out of declarative configuration, as the other portal entities.
	portalEntities[ApplicationEntity] = true
	portalEntities[ApplicationInstanceEntity] = true
}

// Applications declares a developer's applications: name (unique per
// developer, trailing spaces stripped), description, redirect_uri,
// custom_id (unique), meta (a string), the developer owning it and the
// consumer holding its credentials. Deleting the developer deletes its
// applications.
func Applications() *Entity {
	return &Entity{
		Name: ApplicationEntity, Path: ApplicationEntity,
		CacheKey: []string{"developer", "name"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "name", Type: schema.String, Required: true, LenMin: 1, LenMax: 256,
					Description: "The application's name, unique among its developer's applications."},
				{Name: "description", Type: schema.String, LenMax: 4096},
				{Name: "redirect_uri", Type: schema.String, LenMax: 2048, Validator: "url"},
				{Name: "custom_id", Type: schema.String, Unique: true, LenMax: 256},
				{Name: "meta", Type: schema.String, LenMax: 65536},
				foreignField("consumer", "consumers", true, "cascade"),
				foreignField("developer", "developers", true, "cascade"),
				createdAtField(),
				updatedAtField(),
			},
		},
		BeforeWrite: func(_, rec map[string]any) error {
			if s, ok := rec["name"].(string); ok {
				rec["name"] = strings.TrimRight(s, " \t")
			}
			return nil
		},
	}
}

// ApplicationInstances declares an application's registrations to
// services: status (0 approved, 1 pending, 2 rejected, 3 revoked),
// suspended (the owning developer is not approved) and composite_id,
// "<application id>_<service id>", unique: one registration per
// application and service. Deleting the application or the service
// deletes its registrations.
func ApplicationInstances() *Entity {
	return &Entity{
		Name: ApplicationInstanceEntity, Path: ApplicationInstanceEntity,
		EndpointKey: "composite_id",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				foreignField("application", ApplicationEntity, true, "cascade"),
				foreignField("service", "services", true, "cascade"),
				{Name: "status", Type: schema.Integer, Required: true, Default: InstancePending,
					Between: &[2]float64{0, float64(len(InstanceStatusNames) - 1)}},
				{Name: "suspended", Type: schema.Boolean, Required: true, Default: false},
				{Name: "composite_id", Type: schema.String, Unique: true, LenMax: 128,
					Description: "<application id>_<service id>, set on every write."},
				createdAtField(),
				updatedAtField(),
			},
		},
		BeforeWrite: func(_, rec map[string]any) error {
			rec["composite_id"] = CompositeID(foreignID(rec["application"]), foreignID(rec["service"]))
			return nil
		},
	}
}

// CompositeID is an application instance's composite_id: the
// application's and the service's ids joined by "_".
func CompositeID(applicationID, serviceID string) string {
	return applicationID + "_" + serviceID
}

// InstanceAllows reports whether an application instance lets its
// application consume its service: approved and not suspended.
func InstanceAllows(inst map[string]any) bool {
	if inst == nil || inst["suspended"] == true {
		return false
	}
	switch n := inst["status"].(type) {
	case int64:
		return n == InstanceApproved
	case int:
		return n == InstanceApproved
	case float64:
		return n == InstanceApproved
	}
	return false
}

// Portal consumers are hidden (PORTALSPEC §7.6 [D]): Kong gives an
// application's consumer the type APPLICATION, a developer's the type
// DEVELOPER, and keeps both out of the generic /consumers routes and of
// declarative exports. Gatehouse has no consumer type column; a consumer
// is
//   - an application's when an applications row references it (the
//     applications.consumer foreign key is indexed);
//   - a developer's when its username is the id of a developer
//     (DeveloperConsumerUsername: the consumer the portal API creates
//     for a developer's own credentials, /credentials/{plugin}).
// The proxy is not concerned: the credential cache still loads these
// consumers, so their credentials authenticate.

// DeveloperConsumerUsername is the username of a developer's own
// consumer: the developer's id [D] (Kong uses the email, which changes;
// an application's consumer is "<developer id>_<name>", never a bare id).
func DeveloperConsumerUsername(developerID string) string { return developerID }

// IsPortalConsumer reports whether a consumer record backs a Developer
// Portal application or is a developer's own consumer. A store without
// the portal entities has none.
func (s *Store) IsPortalConsumer(ctx context.Context, consumer map[string]any) (bool, error) {
	id, _ := consumer["id"].(string)
	if id == "" || !s.hasEntity(ApplicationEntity) {
		return false, nil
	}
	page, err := s.List(ctx, ApplicationEntity, ListQuery{Size: 1, ForeignField: "consumer", ForeignKey: id})
	if err != nil && !IsNotFound(err) {
		return false, fmt.Errorf("looking up the application of consumer %s: %w", id, err)
	}
	if err == nil && len(page.Data) > 0 {
		return true, nil
	}
	name, _ := consumer["username"].(string)
	if !IsUUID(name) {
		return false, nil
	}
	_, err = s.Get(ctx, "developers", name)
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking up the developer of consumer %s: %w", id, err)
	}
	return true, nil
}

// PortalConsumers recognises the portal's consumers among many: the
// applications' consumer ids and the developers' consumer usernames.
type PortalConsumers struct {
	ids, usernames map[string]bool
}

// Has reports whether a consumer record is one of the portal's.
func (p PortalConsumers) Has(consumer map[string]any) bool {
	id, _ := consumer["id"].(string)
	name, _ := consumer["username"].(string)
	return p.ids[id] || (name != "" && p.usernames[name])
}

// Empty reports whether there is no portal consumer at all.
func (p PortalConsumers) Empty() bool { return len(p.ids) == 0 && len(p.usernames) == 0 }

// newPortalConsumers is an empty PortalConsumers.
func newPortalConsumers() PortalConsumers {
	return PortalConsumers{ids: map[string]bool{}, usernames: map[string]bool{}}
}

// addApplication records an application's consumer (never fails: an
// EachRecord callback).
func (p PortalConsumers) addApplication(app map[string]any) error {
	if id := ForeignID(app["consumer"]); id != "" {
		p.ids[id] = true
	}
	return nil
}

// addDeveloper records a developer's own consumer's username (never
// fails: an EachRecord callback).
func (p PortalConsumers) addDeveloper(dev map[string]any) error {
	if id, _ := dev["id"].(string); id != "" {
		p.usernames[DeveloperConsumerUsername(id)] = true
	}
	return nil
}

// PortalConsumerSet reads the applications and developers (page by page)
// into a PortalConsumers.
func (s *Store) PortalConsumerSet(ctx context.Context) (PortalConsumers, error) {
	p := newPortalConsumers()
	if !s.hasEntity(ApplicationEntity) {
		return p, nil
	}
	if err := s.EachRecord(ctx, ApplicationEntity, ListQuery{}, p.addApplication); err != nil {
		return p, fmt.Errorf("the portal's consumers: %w", err)
	}
	if err := s.EachRecord(ctx, "developers", ListQuery{}, p.addDeveloper); err != nil {
		return p, fmt.Errorf("the portal's consumers: %w", err)
	}
	return p, nil
}

// EachRecord calls fn with every record of entity that q selects, reading
// MaxPageSize records at a time (the walk sets q.Size and q.Offset). An
// error of fn ends the walk and is returned as it is; a read error is
// returned wrapped with the entity's name. It serves the portal's walks
// (this file, runtime/portalapi) and any other caller that needs every
// record rather than one page.
func (s *Store) EachRecord(ctx context.Context, entity string, q ListQuery, fn func(map[string]any) error) error {
	q.Size, q.Offset = MaxPageSize, ""
	for {
		page, err := s.List(ctx, entity, q)
		if err != nil {
			return fmt.Errorf("listing %s: %w", entity, err)
		}
		for _, rec := range page.Data {
			if err := fn(rec); err != nil {
				return err
			}
		}
		if page.Offset == "" {
			return nil
		}
		q.Offset = page.Offset
	}
}

// HidePortalConsumers removes from an export (Store.Export's map) the
// portal's consumers (IsPortalConsumer: the applications' and the
// developers' own) and, transitively, every record that references a
// removed one through a foreign key (their oauth2, key-auth and
// basic-auth credentials, oauth2 tokens, ACLs, consumer-scoped plugins),
// so what is left loads without dangling references. The applications
// and developers rows themselves stay (declarative export leaves portal
// entities out).
func (s *Store) HidePortalConsumers(data map[string][]map[string]any) {
	p := newPortalConsumers()
	for _, app := range data[ApplicationEntity] {
		_ = p.addApplication(app)
	}
	for _, dev := range data["developers"] {
		_ = p.addDeveloper(dev)
	}
	if p.Empty() {
		return
	}
	removed := map[string]map[string]bool{"consumers": {}}
	data["consumers"] = dropRecords(data["consumers"], func(rec map[string]any) bool {
		if p.Has(rec) {
			id, _ := rec["id"].(string)
			removed["consumers"][id] = true
			return true
		}
		return false
	})
	// Entities come in dependency order: a record's references are
	// settled before it is looked at.
	for _, e := range s.registry.All() {
		if e.Name == ApplicationEntity || e.Name == "consumers" || len(data[e.Name]) == 0 {
			continue
		}
		foreigns := e.Foreigns()
		data[e.Name] = dropRecords(data[e.Name], func(rec map[string]any) bool {
			for _, f := range foreigns {
				if removed[f.Reference][ForeignID(rec[f.Name])] {
					if removed[e.Name] == nil {
						removed[e.Name] = map[string]bool{}
					}
					id, _ := rec["id"].(string)
					removed[e.Name][id] = true
					return true
				}
			}
			return false
		})
	}
}

// dropRecords removes the records drop selects, in place.
func dropRecords(recs []map[string]any, drop func(map[string]any) bool) []map[string]any {
	kept := recs[:0]
	for _, rec := range recs {
		if !drop(rec) {
			kept = append(kept, rec)
		}
	}
	clear(recs[len(kept):])
	return kept
}

func (s *Store) hasEntity(name string) bool {
	_, ok := s.registry.Entity(name)
	return ok
}

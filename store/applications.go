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

// Application consumers are hidden (PORTALSPEC §7.6 [D]): Kong gives an
// application's consumer the type APPLICATION and keeps it out of the
// generic /consumers routes and of declarative exports. Gatehouse has no
// consumer type column; a consumer is an application's when an
// applications row references it, which the functions below look up
// (the applications.consumer foreign key is indexed). The proxy is not
// concerned: the snapshot and the credential cache still load these
// consumers, so their credentials authenticate.

// IsApplicationConsumer reports whether the consumer with this id backs
// a Developer Portal application. A store without the applications
// entity has none.
func (s *Store) IsApplicationConsumer(ctx context.Context, consumerID string) (bool, error) {
	if consumerID == "" || !s.hasEntity(ApplicationEntity) {
		return false, nil
	}
	page, err := s.List(ctx, ApplicationEntity, ListQuery{Size: 1, ForeignField: "consumer", ForeignKey: consumerID})
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking up the application of consumer %s: %w", consumerID, err)
	}
	return len(page.Data) > 0, nil
}

// ApplicationConsumerIDs returns the ids of every consumer that backs a
// Developer Portal application (one read of the applications, page by
// page).
func (s *Store) ApplicationConsumerIDs(ctx context.Context) (map[string]bool, error) {
	ids := map[string]bool{}
	if !s.hasEntity(ApplicationEntity) {
		return ids, nil
	}
	q := ListQuery{Size: MaxPageSize}
	for {
		page, err := s.List(ctx, ApplicationEntity, q)
		if err != nil {
			return nil, fmt.Errorf("listing the applications' consumers: %w", err)
		}
		for _, app := range page.Data {
			if id := ForeignID(app["consumer"]); id != "" {
				ids[id] = true
			}
		}
		if page.Offset == "" {
			return ids, nil
		}
		q.Offset = page.Offset
	}
}

// HideApplicationConsumers removes from an export (Store.Export's map)
// the consumers that back applications and, transitively, every record
// that references a removed one through a foreign key (their oauth2 and
// key-auth credentials, oauth2 tokens, ACLs, consumer-scoped plugins),
// so what is left loads without dangling references. The applications
// rows themselves stay (declarative export leaves portal entities out).
func (s *Store) HideApplicationConsumers(data map[string][]map[string]any) {
	removed := map[string]map[string]bool{"consumers": {}}
	for _, app := range data[ApplicationEntity] {
		if id := ForeignID(app["consumer"]); id != "" {
			removed["consumers"][id] = true
		}
	}
	if len(removed["consumers"]) == 0 {
		return
	}
	data["consumers"] = dropRecords(data["consumers"], func(rec map[string]any) bool {
		id, _ := rec["id"].(string)
		return removed["consumers"][id]
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

package store

import (
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

package store

import "github.com/gatehouse/gatehouse/store/schema"

// The denied_ips entity: client addresses (an IP or a CIDR range) that
// every route refuses with 403 before any plugin runs, until expires_at
// (epoch seconds; absent: forever). Served at /denied-ips and read from
// kong.yml's `denied_ips:`. Threat protection's dos_by_ip with action
// deny_list adds entries; an operator adds, lists and deletes them like
// any entity.

// DeniedIPs declares the denied_ips entity.
func DeniedIPs() *Entity {
	return &Entity{
		Name: "denied_ips", Path: "denied-ips",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "ip", Type: schema.String, Required: true, Unique: true, Validator: "ip_or_cidr",
					Description: "The client address or CIDR range refused on every route."},
				{Name: "expires_at", Type: schema.Integer, Description: "When the entry stops applying (epoch seconds); absent: never."},
				{Name: "reason", Type: schema.String, LenMax: 1024, Description: "Why the address is denied."},
				createdAtField(),
				tagsField(),
			},
		},
	}
}

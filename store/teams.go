package store

import "github.com/gatehouse/gatehouse/store/schema"

// The team entities (enable_teams): teams, their members (RBAC users),
// the entities they own and their assignment rules. Their paths hold a
// slash, so the Admin API serves them only through runtime/admin's /teams
// endpoints, never through the generic entity routes; they stay out of
// declarative configuration (NotDeclarative).

// TeamOwnedEntities are the entity types teams own (FEATURES.md §2:
// services, routes, consumers, plugins, upstreams, certificates).
var TeamOwnedEntities = []string{"services", "routes", "consumers", "plugins", "upstreams", "certificates"}

// TeamRuleFields are the fields a team rule's conditions test, and
// TeamRuleOps the tests.
var (
	TeamRuleFields = []string{"name", "tags", "description"}
	TeamRuleOps    = []string{"equals", "contains", "starts_with", "ends_with"}
)

// Teams declares the teams entity: name (unique), description, and the
// roles the team grants its members.
func Teams() *Entity {
	return &Entity{
		Name: "teams", Path: "teams/teams", EndpointKey: "name",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "name", Type: schema.String, Required: true, Unique: true, LenMin: 1, LenMax: 128,
					Description: "The team's unique name."},
				{Name: "description", Type: schema.String, LenMax: 1024},
				{Name: "roles", Type: schema.Array, Elements: &schema.Field{Type: schema.String},
					Description: "The roles the team grants its members."},
				createdAtField(),
			},
		},
	}
}

// TeamMembers declares team_members: an RBAC user's membership of a team;
// admin marks the team's administrators, who manage its members.
func TeamMembers() *Entity {
	return &Entity{
		Name: "team_members", Path: "teams/members", CacheKey: []string{"team", "user"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				foreignField("team", "teams", true, "cascade"),
				foreignField("user", "rbac_users", true, "cascade"),
				{Name: "admin", Type: schema.Boolean, Required: true, Default: false},
				createdAtField(),
			},
		},
	}
}

// TeamAssets declares team_assets: one entity (entity_type, entity_id)
// a team owns; via_rule marks an assignment an assignment rule made.
func TeamAssets() *Entity {
	return &Entity{
		Name: "team_assets", Path: "teams/assets", CacheKey: []string{"team", "entity_type", "entity_id"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				foreignField("team", "teams", true, "cascade"),
				{Name: "entity_type", Type: schema.String, Required: true, OneOf: oneOf(TeamOwnedEntities...)},
				{Name: "entity_id", Type: schema.String, Required: true, UUID: true},
				{Name: "via_rule", Type: schema.Boolean, Required: true, Default: false},
				createdAtField(),
			},
		},
	}
}

// TeamRules declares team_rules: an assignment rule giving the team every
// entity of entity_type whose fields match the conditions, joined by
// join ("and" or "or"); no condition matches every entity.
func TeamRules() *Entity {
	return &Entity{
		Name: "team_rules", Path: "teams/rules",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				foreignField("team", "teams", true, "cascade"),
				{Name: "entity_type", Type: schema.String, Required: true, OneOf: oneOf(TeamOwnedEntities...)},
				{Name: "conditions", Type: schema.Array, Default: []any{}, Elements: &schema.Field{Type: schema.Record,
					Fields: []*schema.Field{
						{Name: "field", Type: schema.String, Required: true, OneOf: oneOf(TeamRuleFields...)},
						{Name: "op", Type: schema.String, Required: true, OneOf: oneOf(TeamRuleOps...)},
						{Name: "value", Type: schema.String, Required: true, LenMax: 1024},
					}}},
				{Name: "join", Type: schema.String, Required: true, Default: "and", OneOf: oneOf("and", "or")},
				createdAtField(),
			},
		},
	}
}

// teamEntities are the team entities, which stay out of declarative
// configuration (NotDeclarative).
var teamEntities = map[string]bool{"teams": true, "team_members": true, "team_assets": true, "team_rules": true}

// IsTeamEntity reports whether name is one of the team entities, which
// the Admin API serves only through /teams when enable_teams is on.
func IsTeamEntity(name string) bool { return teamEntities[name] }

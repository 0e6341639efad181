package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/gatehouse/gatehouse/runtime/internal/reqbody"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

// The predefined teams (FEATURES.md §2): every RBAC user belongs to
// DefaultTeam, whose entities everyone sees; AdministratorsTeam owns every
// entity, and its members see everything. Neither can be deleted.
const (
	DefaultTeam        = "Default"
	AdministratorsTeam = "Administrators"
)

// ResourceTeams is the resource of the /teams endpoints.
const ResourceTeams = "/teams"

// superAdminRole is the role that sees every entity whatever its teams.
const superAdminRole = "super-admin"

// TeamService implements Teams over the store's team entities. It keeps
// an in-memory index of teams, memberships, ownership and rules, built at
// start and kept current by the store's change events (this node's and,
// through Postgres, the cluster's), so that Visible, asked for every
// listed entity, costs map lookups.
type TeamService struct {
	st  *store.Store
	log *slog.Logger

	mu  sync.RWMutex
	idx *teamIndex
	// gen counts the index's changes: a request's cached viewer is
	// current while gen is unchanged.
	gen uint64
	// rebuilding is set while rebuild reads the store; replay holds the
	// changes that arrived meanwhile.
	rebuilding bool
	replay     []store.Event

	cancel    func()
	cleanup   chan store.RowRef
	roles     chan [2]string // a renamed (from, to) or deleted (from, "") role
	reload    chan bool      // true: a reload this node made (an import)
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// teamIndex is the in-memory view of the team entities.
type teamIndex struct {
	teams   map[string]*teamInfo            // by id
	byName  map[string]string               // name -> id
	members map[string]map[string]memberRow // user id -> team id -> row
	owners  map[store.RowRef]map[string]assetRow
	rules   map[string]TeamRule // by id
	users   map[string][]string // rbac user id -> roles
}

type teamInfo struct {
	ID, Name string
	Roles    []string
}

type memberRow struct {
	ID    string
	Admin bool
}

type assetRow struct {
	ID      string
	ViaRule bool
}

func newTeamIndex() *teamIndex {
	return &teamIndex{teams: map[string]*teamInfo{}, byName: map[string]string{},
		members: map[string]map[string]memberRow{}, owners: map[store.RowRef]map[string]assetRow{},
		rules: map[string]TeamRule{}, users: map[string][]string{}}
}

// services registers the running TeamService of each store, for the
// Admin API's team hook (teams_hook.go).
var services sync.Map // *store.Store -> *TeamService

// NewTeamService builds the team index from st and keeps it current until
// Close. It does not create the predefined teams: EnsureTeams does.
func NewTeamService(ctx context.Context, st *store.Store, log *slog.Logger) (*TeamService, error) {
	if log == nil {
		log = slog.Default()
	}
	t := &TeamService{st: st, log: log, idx: newTeamIndex(), cleanup: make(chan store.RowRef, 1024),
		roles: make(chan [2]string, 64), reload: make(chan bool, 1), done: make(chan struct{})}
	t.cancel = st.Bus().Subscribe(t.onEvent)
	if err := t.rebuild(ctx); err != nil {
		t.cancel()
		return nil, err
	}
	if err := t.adoptUnowned(ctx); err != nil {
		t.cancel()
		return nil, err
	}
	t.wg.Add(1)
	go t.work()
	services.Store(st, t)
	return t, nil
}

// Close stops following the store's events; a nil TeamService, or a
// second call, does nothing.
func (t *TeamService) Close() {
	if t == nil {
		return
	}
	t.closeOnce.Do(func() {
		services.CompareAndDelete(t.st, t)
		t.cancel()
		close(t.done)
		t.wg.Wait()
	})
}

// work deletes the ownership rows of deleted entities, follows renamed
// and deleted roles into the teams' roles, and rebuilds the index after a
// configuration reload, off the publisher's goroutine.
func (t *TeamService) work() {
	defer t.wg.Done()
	for {
		select {
		case <-t.done:
			return
		case ref := <-t.cleanup:
			t.dropAssets(ref)
		case change := <-t.roles:
			t.renameRole(change[0], change[1])
		case local := <-t.reload:
			err := t.rebuild(context.Background())
			if err == nil && local {
				// An import on this node replaced the configuration: its
				// entities go to Default, as those found when teams are
				// turned on. Not on another node's changes: an entity it
				// is creating has no owner yet for an instant.
				err = t.adoptUnowned(context.Background())
			}
			if err != nil {
				t.log.Error("teams: rebuilding the index", "error", err)
			}
		}
	}
}

// renameRole follows a role's rename (to "" for a deletion) into the
// teams' roles, as /rbac/roles does for the users' grants.
func (t *TeamService) renameRole(from, to string) {
	t.mu.RLock()
	var teams []*teamInfo
	for _, team := range t.idx.teams {
		if slices.Contains(team.Roles, from) {
			teams = append(teams, team)
		}
	}
	t.mu.RUnlock()
	for _, team := range teams {
		var roles []any
		for _, r := range team.Roles {
			switch {
			case r != from:
				roles = append(roles, r)
			case to != "" && !slices.Contains(team.Roles, to):
				roles = append(roles, to)
			}
		}
		if roles == nil {
			roles = []any{}
		}
		if _, err := t.st.Update(context.Background(), "teams", team.ID, map[string]any{"roles": roles}); err != nil {
			t.log.Warn("teams: following a role's rename", "team", team.Name, "role", from, "error", err)
		}
	}
}

// dropAssets deletes the team_assets rows of a deleted entity.
func (t *TeamService) dropAssets(ref store.RowRef) {
	t.mu.RLock()
	var ids []string
	for _, a := range t.idx.owners[ref] {
		ids = append(ids, a.ID)
	}
	t.mu.RUnlock()
	for _, id := range ids {
		if _, err := t.st.Delete(context.Background(), "team_assets", id); err != nil {
			t.log.Warn("teams: dropping the ownership of a deleted entity", "entity", ref.Entity, "id", ref.ID, "error", err)
		}
	}
}

// listAll reads every entity of a type, page by page.
func listAll(ctx context.Context, st *store.Store, entity string, fn func(map[string]any)) error {
	return listWhere(ctx, st, entity, store.ListQuery{}, fn)
}

// listWhere reads every entity of a type q selects, page by page.
func listWhere(ctx context.Context, st *store.Store, entity string, q store.ListQuery, fn func(map[string]any)) error {
	q.Size = store.MaxPageSize
	for {
		page, err := st.List(ctx, entity, q)
		if err != nil {
			return fmt.Errorf("teams: listing %s: %w", entity, err)
		}
		for _, rec := range page.Data {
			fn(rec)
		}
		if page.Offset == "" {
			return nil
		}
		q.Offset = page.Offset
	}
}

// rebuild reads the team entities and the RBAC users' roles into a new
// index. The changes that arrive while it reads are applied to the new
// index too before it replaces the current one, so none is lost (applying
// a change the reads already saw changes nothing).
func (t *TeamService) rebuild(ctx context.Context) error {
	t.mu.Lock()
	t.replay, t.rebuilding = nil, true
	t.mu.Unlock()
	idx := newTeamIndex()
	var err error
	for _, entity := range []string{"rbac_users", "teams", "team_members", "team_assets", "team_rules"} {
		if err = listAll(ctx, t.st, entity, func(rec map[string]any) { idx.apply(entity, nil, rec) }); err != nil {
			break
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		for _, ev := range t.replay {
			idx.apply(ev.Entity, ev.Old, ev.New)
		}
		t.idx = idx
		t.gen++
	}
	t.replay, t.rebuilding = nil, false
	return err
}

// onEvent keeps the index current; it runs on the publisher's goroutine.
func (t *TeamService) onEvent(ev store.Event) {
	switch ev.Entity {
	case "rbac_users", "teams", "team_members", "team_assets", "team_rules":
		t.mu.Lock()
		t.idx.apply(ev.Entity, ev.Old, ev.New)
		t.gen++
		if t.rebuilding {
			t.replay = append(t.replay, ev)
		}
		t.mu.Unlock()
		return
	}
	if ev.Entity == "rbac_roles" && !ev.Remote && ev.Old != nil {
		from, _ := ev.Old["name"].(string)
		to, _ := ev.New["name"].(string)
		if from != "" && from != to {
			select {
			case t.roles <- [2]string{from, to}:
			default:
				t.log.Warn("teams: too many role changes at once; teams keep the old name", "role", from)
			}
		}
		return
	}
	if ev.Op == store.OpReload {
		select {
		case t.reload <- !ev.Remote:
		default:
		}
		return
	}
	if ev.Op == store.OpDelete && slices.Contains(store.TeamOwnedEntities, ev.Entity) {
		id, _ := ev.Old["id"].(string)
		ref := store.RowRef{Entity: ev.Entity, ID: id}
		t.mu.RLock()
		owned := len(t.idx.owners[ref]) > 0
		t.mu.RUnlock()
		if owned {
			select {
			case t.cleanup <- ref:
			default: // the rows stay; listings skip entities that are gone
			}
		}
	}
}

// apply records one change of a team entity (old nil: created; rec nil:
// deleted).
func (x *teamIndex) apply(entity string, old, rec map[string]any) {
	if old != nil {
		x.remove(entity, old)
	}
	if rec == nil {
		return
	}
	id, _ := rec["id"].(string)
	switch entity {
	case "rbac_users":
		x.users[id] = stringList(rec["roles"])
	case "teams":
		name, _ := rec["name"].(string)
		x.teams[id] = &teamInfo{ID: id, Name: name, Roles: stringList(rec["roles"])}
		x.byName[name] = id
	case "team_members":
		user, team := foreignKey(rec["user"]), foreignKey(rec["team"])
		if x.members[user] == nil {
			x.members[user] = map[string]memberRow{}
		}
		admin, _ := rec["admin"].(bool)
		x.members[user][team] = memberRow{ID: id, Admin: admin}
	case "team_assets":
		ref := assetRef(rec)
		if x.owners[ref] == nil {
			x.owners[ref] = map[string]assetRow{}
		}
		via, _ := rec["via_rule"].(bool)
		x.owners[ref][foreignKey(rec["team"])] = assetRow{ID: id, ViaRule: via}
	case "team_rules":
		r, err := ParseTeamRule(rec)
		if err == nil {
			r.ID, r.TeamID = id, foreignKey(rec["team"])
			x.rules[id] = r
		}
	}
}

func (x *teamIndex) remove(entity string, old map[string]any) {
	id, _ := old["id"].(string)
	switch entity {
	case "rbac_users":
		delete(x.users, id)
	case "teams":
		if name, _ := old["name"].(string); x.byName[name] == id {
			delete(x.byName, name)
		}
		delete(x.teams, id)
	case "team_members":
		user, team := foreignKey(old["user"]), foreignKey(old["team"])
		if m := x.members[user]; m != nil && m[team].ID == id {
			delete(m, team)
			if len(m) == 0 {
				delete(x.members, user)
			}
		}
	case "team_assets":
		ref, team := assetRef(old), foreignKey(old["team"])
		if m := x.owners[ref]; m != nil && m[team].ID == id {
			delete(m, team)
			if len(m) == 0 {
				delete(x.owners, ref)
			}
		}
	case "team_rules":
		delete(x.rules, id)
	}
}

func assetRef(rec map[string]any) store.RowRef {
	typ, _ := rec["entity_type"].(string)
	id, _ := rec["entity_id"].(string)
	return store.RowRef{Entity: typ, ID: id}
}

// foreignKey is the id inside a foreign-key value ({"id": ...}).
func foreignKey(v any) string {
	m, _ := v.(map[string]any)
	id, _ := m["id"].(string)
	return id
}

// viewer is what the index says of one administrator.
type viewer struct {
	// all: super-admin (their own role or a team's) or a member of
	// Administrators: sees everything.
	all bool
	// teams are the ids of the teams they belong to, Default included.
	teams map[string]bool
	// explicit are the teams they were added to, Default and
	// Administrators aside.
	explicit []string
}

// viewerLocked reads the administrator's teams; t.mu is held.
func (t *TeamService) viewerLocked(userID string) viewer {
	x := t.idx
	v := viewer{teams: map[string]bool{}}
	def, admins := x.byName[DefaultTeam], x.byName[AdministratorsTeam]
	if def != "" {
		v.teams[def] = true
	}
	for team := range x.members[userID] {
		v.teams[team] = true
		if team != def && team != admins {
			v.explicit = append(v.explicit, team)
		}
	}
	slices.Sort(v.explicit)
	v.all = (admins != "" && v.teams[admins]) || slices.Contains(x.users[userID], superAdminRole)
	for team := range v.teams {
		if info := x.teams[team]; info != nil && slices.Contains(info.Roles, superAdminRole) {
			v.all = true // a team granting super-admin
		}
	}
	return v
}

// visibleLocked reports whether the viewer sees the entity; t.mu is held.
func (t *TeamService) visibleLocked(v viewer, ref store.RowRef) bool {
	if v.all || !slices.Contains(store.TeamOwnedEntities, ref.Entity) {
		return true
	}
	// An entity no team owns yet is being created (its owner is
	// assigned once the create returns) or was written around the Admin
	// API: only those who see everything see it.
	owners := t.idx.owners[ref]
	def := t.idx.byName[DefaultTeam]
	for team := range owners {
		if team == def || v.teams[team] {
			return true
		}
	}
	return false
}

// Memberships returns the teams the actor belongs to: Default, which
// every RBAC user is in, and the teams they were added to, with each
// team's roles and whether the actor administers it (the shipped admin
// policy lets a team's administrators manage its members).
func (t *TeamService) Memberships(_ context.Context, actor store.Actor) ([]TeamMembership, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	x := t.idx
	var out []TeamMembership
	if def := x.teams[x.byName[DefaultTeam]]; def != nil {
		m := TeamMembership{ID: def.ID, Name: def.Name, Roles: slices.Clone(def.Roles)}
		if row, ok := x.members[actor.ID][def.ID]; ok {
			m.Admin = row.Admin
		}
		out = append(out, m)
	}
	for teamID, row := range x.members[actor.ID] {
		team := x.teams[teamID]
		if team == nil || team.Name == DefaultTeam {
			continue
		}
		out = append(out, TeamMembership{ID: team.ID, Name: team.Name, Admin: row.Admin, Roles: slices.Clone(team.Roles)})
	}
	slices.SortFunc(out, func(a, b TeamMembership) int {
		switch {
		case a.Name == DefaultTeam:
			return -1
		case b.Name == DefaultTeam:
			return 1
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out, nil
}

// notFoundRefusal is the refusal of a call naming an entity only other teams
// own: Kong's 404, which tells nothing of the entity.
func notFoundRefusal() *Refusal { return &Refusal{Status: fiber.StatusNotFound, Message: "Not found"} }

// Scope checks the entities a call names against the actor's teams: the
// entity Key names and the parent ParentKey names, when they are of a
// team-owned type, must be visible to the actor, else the call is
// refused with 404. A create (a POST, or a PUT naming no entity yet) of
// a team-owned type gets its owning team: the creator's only team, the
// one the Gatehouse-Team header names (which must be one of theirs), or
// Default for a member of none; a member of several who names none is
// refused with 400. It returns the names of the teams owning the entity
// Key names (Administrators always among them).
func (t *TeamService) Scope(ctx context.Context, call Call, _ []TeamMembership) ([]string, error) {
	req := teamRequestFrom(ctx)
	if call.Parent != "" && call.ParentKey != "" && slices.Contains(store.TeamOwnedEntities, call.Parent) {
		rec, err := t.get(ctx, call.Parent, call.ParentKey)
		switch {
		case rec == nil && err == nil: // the handler answers
		case err != nil:
			return nil, fmt.Errorf("teams: reading %s %s: %w", call.Parent, call.ParentKey, err)
		default:
			if !t.visible(call.Actor, call.Parent, rec) {
				return nil, notFoundRefusal()
			}
		}
	}
	if err := t.checkReferences(ctx, call, req); err != nil {
		return nil, err
	}
	if !slices.Contains(store.TeamOwnedEntities, call.Entity) {
		return nil, nil
	}
	creating := call.Operation == OpCreate
	var owners []string
	if call.Key != "" {
		rec, err := t.get(ctx, call.Entity, call.Key)
		switch {
		case rec == nil && err == nil:
			creating = call.Operation == OpUpdate && call.Method == fiber.MethodPut
		case err != nil:
			return nil, fmt.Errorf("teams: reading %s %s: %w", call.Entity, call.Key, err)
		default:
			if !t.visible(call.Actor, call.Entity, rec) {
				return nil, notFoundRefusal()
			}
			id, _ := rec["id"].(string)
			owners = t.ownerNames(store.RowRef{Entity: call.Entity, ID: id})
		}
	}
	if !creating {
		return owners, nil
	}
	team, err := t.owningTeam(call.Actor, call.Team)
	if err != nil {
		return nil, err
	}
	if req != nil {
		req.mu.Lock()
		req.create = &pendingCreate{entity: call.Entity, team: team}
		req.mu.Unlock()
	}
	return nil, nil
}

// get reads the entity a call names: nil (and no error) when there is
// none, or the key is one the entity cannot have (the handler answers).
func (t *TeamService) get(ctx context.Context, entity, key string) (map[string]any, error) {
	rec, err := t.st.Get(ctx, entity, key)
	if err == nil {
		return rec, nil
	}
	if e, ok := store.AsError(err); store.IsNotFound(err) || (ok && e.Code != store.CodeDatabaseError) {
		return nil, nil
	}
	return nil, err
}

// checkReferences refuses a write whose body points a foreign key at a
// team-owned entity the actor does not see (a plugin on another team's
// service, a route moved to it), as Kong refuses one naming no entity:
// 400 with Kong's foreign key message.
func (t *TeamService) checkReferences(ctx context.Context, call Call, req *teamRequest) error {
	if req == nil || len(req.body) == 0 || (call.Operation != OpCreate && call.Operation != OpUpdate) {
		return nil
	}
	e, ok := t.st.Registry().Entity(call.Entity)
	if !ok {
		return nil
	}
	var in map[string]any
	for _, f := range e.Foreigns() {
		if !slices.Contains(store.TeamOwnedEntities, f.Reference) {
			continue
		}
		if in == nil {
			var err error
			if in, err = reqbody.Decode(req.contentType, req.body); err != nil {
				return nil // the handler answers the body's error
			}
		}
		m, _ := in[f.Name].(map[string]any)
		if m == nil {
			continue
		}
		key, field := m["id"], "id"
		if key == nil {
			if ref, ok := t.st.Registry().Entity(f.Reference); ok && ref.EndpointKey != "" {
				key, field = m[ref.EndpointKey], ref.EndpointKey
			}
		}
		k, _ := key.(string)
		if k == "" {
			continue
		}
		rec, err := t.get(ctx, f.Reference, k)
		if rec == nil && err == nil {
			continue // the store answers
		}
		if err != nil {
			return fmt.Errorf("teams: reading %s %s: %w", f.Reference, k, err)
		}
		if !t.visible(call.Actor, f.Reference, rec) {
			msg := store.ForeignKeyViolation(f.Name, map[string]any{field: k}, f.Reference).Message
			return &Refusal{Status: fiber.StatusBadRequest, Message: msg}
		}
	}
	return nil
}

// owningTeam picks the team that owns what actor creates (see Scope).
func (t *TeamService) owningTeam(actor store.Actor, header string) (string, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	x := t.idx
	v := t.viewerLocked(actor.ID)
	if header != "" {
		id := x.byName[header]
		if id == "" && x.teams[header] != nil {
			id = header
		}
		if id == "" || !(v.teams[id] || v.all) {
			return "", &Refusal{Status: fiber.StatusBadRequest,
				Message: fmt.Sprintf("%s: %q is not one of your teams", TeamHeader, header)}
		}
		return id, nil
	}
	switch len(v.explicit) {
	case 0:
		return x.byName[DefaultTeam], nil
	case 1:
		return v.explicit[0], nil
	}
	names := make([]string, 0, len(v.explicit))
	for _, id := range v.explicit {
		names = append(names, x.teams[id].Name)
	}
	slices.Sort(names)
	return "", &Refusal{Status: fiber.StatusBadRequest,
		Message: fmt.Sprintf("you belong to several teams (%v): name the one that owns the new entity in the %s header", names, TeamHeader)}
}

// ownerNames are the names of the teams owning an entity, sorted.
// Administrators, which owns every
// entity, is always among them.
func (t *TeamService) ownerNames(ref store.RowRef) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	x := t.idx
	var out []string
	for team := range x.owners[ref] {
		if info := x.teams[team]; info != nil {
			out = append(out, info.Name)
		}
	}
	if !slices.Contains(out, AdministratorsTeam) {
		out = append(out, AdministratorsTeam)
	}
	slices.Sort(out)
	return out
}

// visible reports whether actor sees an entity of type entity.
func (t *TeamService) visible(actor store.Actor, entity string, rec map[string]any) bool {
	id, _ := rec["id"].(string)
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.visibleLocked(t.viewerLocked(actor.ID), store.RowRef{Entity: entity, ID: id})
}

// viewerFor is viewerLocked, cached in the request's teamRequest while
// the index does not change: a list page asks about each of its items.
// t.mu is held.
func (t *TeamService) viewerFor(ctx context.Context, userID string) viewer {
	req := teamRequestFrom(ctx)
	if req == nil {
		return t.viewerLocked(userID)
	}
	req.mu.Lock()
	defer req.mu.Unlock()
	if c := req.viewer; c != nil && c.gen == t.gen && c.user == userID {
		return c.v
	}
	v := t.viewerLocked(userID)
	req.viewer = &cachedViewer{gen: t.gen, user: userID, v: v}
	return v
}

// Visible reports whether a listed entity is shown to the call's actor:
// entities of types teams do not own always are; the others when one of
// their owning teams is Default or one of the actor's, or when the actor
// is a super-admin or a member of Administrators.
func (t *TeamService) Visible(ctx context.Context, call Call, entity string, rec map[string]any) bool {
	if !slices.Contains(store.TeamOwnedEntities, entity) {
		return true
	}
	id, _ := rec["id"].(string)
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.visibleLocked(t.viewerFor(ctx, call.Actor.ID), store.RowRef{Entity: entity, ID: id})
}

// assign makes team own the entity (via_rule for a rule's assignment).
// It reports whether a row was written.
func (t *TeamService) assign(ctx context.Context, team string, ref store.RowRef, viaRule bool) (bool, error) {
	t.mu.RLock()
	_, have := t.idx.owners[ref][team]
	t.mu.RUnlock()
	if have {
		return false, nil
	}
	return true, t.insertAsset(ctx, team, ref, viaRule)
}

// orphansToDefault gives Default the entities team alone owns, before
// the team is deleted.
func (t *TeamService) orphansToDefault(ctx context.Context, team string) error {
	t.mu.RLock()
	def := t.idx.byName[DefaultTeam]
	var refs []store.RowRef
	for ref, owners := range t.idx.owners {
		if _, ok := owners[team]; ok && len(owners) == 1 {
			refs = append(refs, ref)
		}
	}
	t.mu.RUnlock()
	if def == "" || def == team {
		return nil
	}
	for _, ref := range refs {
		if err := t.insertAsset(ctx, def, ref, false); err != nil {
			return err
		}
	}
	return nil
}

// adoptUnowned gives Default every entity of a team-owned type that no
// team owns: those that existed before teams were turned on, or were
// created while they were off.
func (t *TeamService) adoptUnowned(ctx context.Context) error {
	t.mu.RLock()
	def := t.idx.byName[DefaultTeam]
	t.mu.RUnlock()
	if def == "" {
		return nil
	}
	for _, entity := range store.TeamOwnedEntities {
		var refs []store.RowRef
		err := listAll(ctx, t.st, entity, func(rec map[string]any) {
			id, _ := rec["id"].(string)
			ref := store.RowRef{Entity: entity, ID: id}
			t.mu.RLock()
			unowned := len(t.idx.owners[ref]) == 0
			t.mu.RUnlock()
			if unowned {
				refs = append(refs, ref)
			}
		})
		if err != nil {
			return err
		}
		for _, ref := range refs {
			if err := t.insertAsset(ctx, def, ref, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *TeamService) insertAsset(ctx context.Context, team string, ref store.RowRef, viaRule bool) error {
	_, err := t.st.Insert(ctx, "team_assets", map[string]any{"team": map[string]any{"id": team},
		"entity_type": ref.Entity, "entity_id": ref.ID, "via_rule": viaRule})
	if e, ok := store.AsError(err); ok && e.Code == store.CodeUniqueViolation {
		return nil // assigned meanwhile
	}
	if err != nil {
		return fmt.Errorf("teams: assigning %s %s: %w", ref.Entity, ref.ID, err)
	}
	return nil
}

// applyRules assigns the entity to the teams whose rules it matches.
func (t *TeamService) applyRules(ctx context.Context, entity string, rec map[string]any) error {
	id, _ := rec["id"].(string)
	ref := store.RowRef{Entity: entity, ID: id}
	t.mu.RLock()
	var teams []string
	for _, r := range t.idx.rules {
		if r.Matches(entity, rec) && !slices.Contains(teams, r.TeamID) {
			teams = append(teams, r.TeamID)
		}
	}
	t.mu.RUnlock()
	slices.Sort(teams)
	var errs []error
	for _, team := range teams {
		if _, err := t.assign(ctx, team, ref, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// applyRule assigns the team of a new rule every existing entity the
// rule matches; it returns how many it assigned.
func (t *TeamService) applyRule(ctx context.Context, r TeamRule) (int, error) {
	var refs []store.RowRef
	err := listAll(ctx, t.st, r.Entity, func(rec map[string]any) {
		if r.Matches(r.Entity, rec) {
			id, _ := rec["id"].(string)
			refs = append(refs, store.RowRef{Entity: r.Entity, ID: id})
		}
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ref := range refs {
		wrote, err := t.assign(ctx, r.TeamID, ref, true)
		if err != nil {
			return n, err
		}
		if wrote {
			n++
		}
	}
	return n, nil
}

// EnsureTeams creates the predefined Default and Administrators teams
// when they are missing; it is idempotent, and safe when nodes sharing a
// database start together.
func EnsureTeams(ctx context.Context, st *store.Store) error {
	for _, team := range []struct{ name, desc string }{
		{DefaultTeam, "Every administrator; its entities are visible to all."},
		{AdministratorsTeam, "Owns every entity; its members see everything."},
	} {
		_, err := st.Get(ctx, "teams", team.name)
		if err == nil {
			continue
		}
		if !store.IsNotFound(err) {
			return fmt.Errorf("teams: reading team %s: %w", team.name, err)
		}
		_, err = st.Insert(ctx, "teams", map[string]any{"name": team.name, "description": team.desc})
		if e, ok := store.AsError(err); ok && e.Code == store.CodeUniqueViolation {
			continue // another node created it
		}
		if err != nil {
			return fmt.Errorf("teams: creating team %s: %w", team.name, err)
		}
	}
	return nil
}

package pdk

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
)

// errNotYet is the message of the kong.db operations the Lua host does not
// serve yet (writes, listing whole entities).
const errNotYet = "kong.db.%s:%s is not supported by Gatehouse's Lua host"

// newDBTable is kong.db: kong.db.<entity> reads (select, select_by_<field>),
// writes and lists through hostabi.DB (dbwrite.go), as Kong's DAO reads
// and writes the database; each_for_consumer and page_for_consumer list a
// consumer's credentials through the node's cache (hostabi.Credentials).
func (b *Binding) newDBTable() *lua.LTable {
	L := b.L
	t := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", b.free(func(L *lua.LState) int {
		name, ok := L.Get(2).(lua.LString)
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(b.dao(string(name)))
		return 1
	}))
	L.SetMetatable(t, mt)
	return t
}

// dao returns the DAO table of an entity, created on first use.
func (b *Binding) dao(entity string) *lua.LTable {
	if d, ok := b.daos[entity]; ok {
		return d
	}
	L := b.L
	d := L.NewTable()
	name := "kong.db." + entity
	// kong.db.<entity>.schema: api.lua's routes name it (`schema =
	// kong.db.jwt_secrets.schema`), which marks them as Kong's new-DAO
	// routes; only its name is known here.
	sch := L.NewTable()
	sch.RawSetString("name", lua.LString(entity))
	d.RawSetString("schema", sch)
	d.RawSetString("select", b.bound(name+":select", func(L *lua.LState, k hostabi.Kong) int {
		pk, ok := L.Get(selfBase(L, d)).(*lua.LTable)
		if !ok {
			L.RaiseError("primary_key must be a table")
		}
		id, ok := pk.RawGetString("id").(lua.LString)
		if !ok {
			L.RaiseError("primary_key.id must be a string")
		}
		// Kong's DAO reads the database (kong.cache is what caches).
		row, err := k.DB().Select(k.Context(), entity, string(id))
		if err != nil {
			return pushDBError(L, err)
		}
		L.Push(entityToLua(L, row))
		return 1
	}))
	d.RawSetString("each_for_consumer", b.bound(name+":each_for_consumer", func(L *lua.LState, k hostabi.Kong) int {
		rows, err := b.consumerRows(L, k, entity, L.Get(selfBase(L, d)))
		i := 0
		L.Push(L.NewFunction(func(L *lua.LState) int {
			if err != nil {
				e := err
				err = nil
				L.Push(lua.LFalse)
				L.Push(lua.LString(e.Error()))
				return 2
			}
			if i >= len(rows) {
				L.Push(lua.LNil)
				return 1
			}
			i++
			L.Push(entityToLua(L, rows[i-1]))
			return 1
		}))
		return 1
	}))
	d.RawSetString("page_for_consumer", b.bound(name+":page_for_consumer", func(L *lua.LState, k hostabi.Kong) int {
		base := selfBase(L, d)
		rows, err := b.consumerRows(L, k, entity, L.Get(base))
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		size := 100
		if n, ok := optNumber(L, base+1, "size"); ok {
			if n < 1 || n > 1000 {
				L.RaiseError("size must be an integer between 1 and 1000")
			}
			size = int(n)
		}
		start := 0
		if off, ok := L.Get(base + 2).(lua.LString); ok {
			n, perr := strconv.Atoi(string(off))
			if perr != nil || n < 0 {
				L.Push(lua.LNil)
				L.Push(lua.LString("invalid offset"))
				return 2
			}
			start = n
		}
		page := L.NewTable()
		end := start + size
		if end > len(rows) {
			end = len(rows)
		}
		for j := start; j < end; j++ {
			page.Append(entityToLua(L, rows[j]))
		}
		L.Push(page)
		L.Push(lua.LNil)
		L.Push(lua.LNil)
		if end < len(rows) {
			L.Push(lua.LString(strconv.Itoa(end)))
		} else {
			L.Push(lua.LNil)
		}
		return 4
	}))
	d.RawSetString("cache_key", b.free(func(L *lua.LState) int {
		base := selfBase(L, d)
		parts := []string{entity}
		for j := 0; j < 6; j++ {
			v := L.Get(base + j)
			switch x := v.(type) {
			case *lua.LNilType:
				parts = append(parts, "")
			case *lua.LTable:
				parts = append(parts, lua.LVAsString(x.RawGetString("id")))
			default:
				parts = append(parts, tostring(L, v))
			}
		}
		L.Push(lua.LString(strings.Join(parts, ":")))
		return 1
	}))
	b.addDBWrites(d, entity)
	d.RawSetString("truncate", b.free(func(L *lua.LState) int {
		L.RaiseError(errNotYet, entity, "truncate")
		return 0
	}))
	mt := L.NewTable()
	mt.RawSetString("__index", b.free(func(L *lua.LState) int {
		m, ok := L.Get(2).(lua.LString)
		if !ok || !strings.HasPrefix(string(m), "select_by_") {
			L.Push(lua.LNil)
			return 1
		}
		field := strings.TrimPrefix(string(m), "select_by_")
		fn := b.bound(name+":"+string(m), func(L *lua.LState, k hostabi.Kong) int {
			v := L.Get(selfBase(L, d))
			var s string
			switch x := v.(type) {
			case lua.LString:
				s = string(x)
			case lua.LNumber:
				s = x.String()
			default:
				L.RaiseError("invalid value for %s: got %s, expected string", field, typeName(v))
			}
			row, err := k.DB().SelectBy(k.Context(), entity, field, s)
			if err != nil {
				return pushDBError(L, err)
			}
			L.Push(entityToLua(L, row))
			return 1
		})
		d.RawSetString(string(m), fn)
		L.Push(fn)
		return 1
	}))
	L.SetMetatable(d, mt)
	b.daos[entity] = d
	return d
}

// lookup finds one row: consumers by id or username through
// kong.client.load_consumer, other entities through
// Credentials.Credential.
func lookup(k hostabi.Kong, entity, field, value string) (hostabi.Entity, error) {
	if entity == "consumers" && (field == "id" || field == "username") {
		return k.Client().LoadConsumer(k.Context(), value, field == "username")
	}
	return k.Credentials().Credential(k.Context(), entity, field, value)
}

func (b *Binding) pushRow(L *lua.LState, k hostabi.Kong, entity, field, value string) int {
	row, err := lookup(k, entity, field, value)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		et := L.NewTable()
		et.RawSetString("message", lua.LString(err.Error()))
		L.Push(et)
		return 3
	}
	L.Push(entityToLua(L, row))
	return 1
}

// consumerRows reads each_for_consumer's foreign key ({id = ...}) and lists
// the consumer's rows.
func (b *Binding) consumerRows(L *lua.LState, k hostabi.Kong, entity string, fk lua.LValue) ([]hostabi.Entity, error) {
	t, ok := fk.(*lua.LTable)
	if !ok {
		L.RaiseError("consumer must be a table")
	}
	id, ok := t.RawGetString("id").(lua.LString)
	if !ok {
		L.RaiseError("consumer.id must be a string")
	}
	return k.Credentials().ConsumerCredentials(k.Context(), entity, string(id))
}

// singletonsTable is kong.singletons (Kong 0.x-1.x): configuration, dao
// (find_all, find), db and cache.
func (b *Binding) singletonsTable() *lua.LTable {
	L := b.L
	t := L.NewTable()
	t.RawSetString("configuration", b.configurationPayload)
	t.RawSetString("db", b.dbTable)
	t.RawSetString("cache", b.cacheTable)
	dao := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", b.free(func(L *lua.LState) int {
		name, ok := L.Get(2).(lua.LString)
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(b.legacyDAO(string(name)))
		return 1
	}))
	L.SetMetatable(dao, mt)
	t.RawSetString("dao", dao)
	return t
}

// legacyDAO is kong.singletons.dao.<entity>: find_all(filter) and
// find(pk) over Credentials (consumers over load_consumer), rows with the
// 0.x field names.
func (b *Binding) legacyDAO(entity string) *lua.LTable {
	if d, ok := b.singletonDaos[entity]; ok {
		return d
	}
	L := b.L
	d := L.NewTable()
	name := "kong.singletons.dao." + entity
	d.RawSetString("find_all", b.bound(name+":find_all", func(L *lua.LState, k hostabi.Kong) int {
		filter := map[string]string{}
		if ft, ok := L.Get(selfBase(L, d)).(*lua.LTable); ok {
			ft.ForEach(func(key, v lua.LValue) {
				filter[lua.LVAsString(key)] = tostring(L, v)
			})
		}
		rows, err := findAll(k, entity, filter)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		out := L.CreateTable(len(rows), 0)
		for _, r := range rows {
			out.Append(entityToLua(L, r))
		}
		L.Push(out)
		return 1
	}))
	d.RawSetString("find", b.bound(name+":find", func(L *lua.LState, k hostabi.Kong) int {
		pk, ok := L.Get(selfBase(L, d)).(*lua.LTable)
		if !ok {
			L.RaiseError("primary key must be a table")
		}
		id, ok := pk.RawGetString("id").(lua.LString)
		if !ok {
			L.RaiseError("primary key id must be a string")
		}
		row, err := lookup(k, entity, "id", string(id))
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		L.Push(entityToLua(L, row))
		return 1
	}))
	b.singletonDaos[entity] = d
	return d
}

// findAll serves find_all's filter: consumer_id lists the consumer's rows,
// another field is looked up as the entity's unique key; the remaining
// fields filter the rows (compared as text, 0.x names included).
func findAll(k hostabi.Kong, entity string, filter map[string]string) ([]hostabi.Entity, error) {
	var rows []hostabi.Entity
	rest := map[string]string{}
	for n, v := range filter {
		rest[n] = v
	}
	switch cid, ok := filter["consumer_id"]; {
	case ok && entity != "consumers":
		delete(rest, "consumer_id")
		list, err := k.Credentials().ConsumerCredentials(k.Context(), entity, cid)
		if err != nil {
			return nil, err
		}
		rows = list
	case len(filter) > 0:
		names := make([]string, 0, len(filter))
		for n := range filter {
			names = append(names, n)
		}
		sort.Strings(names)
		field := names[0]
		for _, n := range names { // prefer an id or a well-known key
			if n == "id" || n == "key" || n == "username" {
				field = n
				break
			}
		}
		delete(rest, field)
		row, err := lookup(k, entity, field, filter[field])
		if err != nil {
			return nil, err
		}
		if row != nil {
			rows = []hostabi.Entity{row}
		}
	default:
		return nil, fmt.Errorf("find_all on %s needs a filter (consumer_id or a unique field): listing a whole entity is not supported", entity)
	}
	out := rows[:0:0]
	for _, r := range rows {
		lr := legacyRow(r)
		keep := true
		for n, v := range rest {
			if fmt.Sprint(lr[n]) != v {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	return out, nil
}

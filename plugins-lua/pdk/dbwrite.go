package pdk

import (
	"errors"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
)

// kong.db's writes and listings over hostabi.DB (Kong 3.x DAO signatures):
//
//	insert(entity, options)       -> row | nil, err, err_t
//	update(pk, entity, options)   -> row | nil, err, err_t
//	upsert(pk, entity, options)   -> row | nil, err, err_t
//	delete(pk, options)           -> true | nil, err, err_t
//	page(size, offset, options)   -> rows, err, err_t, offset
//	each(size, options)           -> iterator of row, err
//
// pk is {id = ...} (or the entity's endpoint key as a string); options
// may carry ttl (insert, update, upsert) and tags (page, each).

func (b *Binding) addDBWrites(d *lua.LTable, entity string) {
	name := "kong.db." + entity
	d.RawSetString("insert", b.bound(name+":insert", func(L *lua.LState, k hostabi.Kong) int {
		base := selfBase(L, d)
		fields := rowFromLua(L, L.Get(base), "entity")
		row, err := k.DB().Insert(k.Context(), entity, fields, writeOptions(L, L.Get(base+1)))
		return b.pushWriteResult(L, row, err)
	}))
	for _, op := range []string{"update", "upsert"} {
		op := op
		d.RawSetString(op, b.bound(name+":"+op, func(L *lua.LState, k hostabi.Kong) int {
			base := selfBase(L, d)
			key := primaryKey(L, L.Get(base))
			fields := rowFromLua(L, L.Get(base+1), "entity")
			opts := writeOptions(L, L.Get(base+2))
			var row hostabi.Entity
			var err error
			if op == "update" {
				row, err = k.DB().Update(k.Context(), entity, key, fields, opts)
			} else {
				row, err = k.DB().Upsert(k.Context(), entity, key, fields, opts)
			}
			return b.pushWriteResult(L, row, err)
		}))
	}
	d.RawSetString("delete", b.bound(name+":delete", func(L *lua.LState, k hostabi.Kong) int {
		key := primaryKey(L, L.Get(selfBase(L, d)))
		if err := k.DB().Delete(k.Context(), entity, key); err != nil {
			return pushDBError(L, err)
		}
		L.Push(lua.LTrue)
		return 1
	}))
	d.RawSetString("page", b.bound(name+":page", func(L *lua.LState, k hostabi.Kong) int {
		base := selfBase(L, d)
		q := hostabi.PageQuery{}
		if n, ok := optNumber(L, base, "size"); ok {
			q.Size = int(n)
		}
		if off, ok := L.Get(base + 1).(lua.LString); ok {
			q.Offset = string(off)
		}
		q.Tags, q.TagsAny = tagOptions(L, L.Get(base+2))
		rows, next, err := k.DB().Page(k.Context(), entity, q)
		if err != nil {
			return pushDBError(L, err)
		}
		L.Push(b.rowsToLua(L, rows))
		L.Push(lua.LNil)
		L.Push(lua.LNil)
		if next != "" {
			L.Push(lua.LString(next))
		} else {
			L.Push(lua.LNil)
		}
		return 4
	}))
	d.RawSetString("each", b.bound(name+":each", func(L *lua.LState, k hostabi.Kong) int {
		base := selfBase(L, d)
		q := hostabi.PageQuery{}
		if n, ok := optNumber(L, base, "size"); ok {
			q.Size = int(n)
		}
		q.Tags, q.TagsAny = tagOptions(L, L.Get(base+1))
		ctx := k.Context()
		db := k.DB()
		var rows []hostabi.Entity
		i, done := 0, false
		L.Push(L.NewFunction(func(L *lua.LState) int {
			defer recoverLua(L)
			for i >= len(rows) {
				if done {
					L.Push(lua.LNil)
					return 1
				}
				page, next, err := db.Page(ctx, entity, q)
				if err != nil {
					done = true
					L.Push(lua.LFalse)
					L.Push(lua.LString(err.Error()))
					return 2
				}
				rows, i, q.Offset = page, 0, next
				done = next == ""
				if len(rows) == 0 && done {
					L.Push(lua.LNil)
					return 1
				}
			}
			i++
			L.Push(entityToLua(L, rows[i-1]))
			return 1
		}))
		return 1
	}))
}

func (b *Binding) rowsToLua(L *lua.LState, rows []hostabi.Entity) *lua.LTable {
	t := L.CreateTable(len(rows), 0)
	for _, r := range rows {
		t.Append(entityToLua(L, r))
	}
	return t
}

func (b *Binding) pushWriteResult(L *lua.LState, row hostabi.Entity, err error) int {
	if err != nil {
		return pushDBError(L, err)
	}
	L.Push(entityToLua(L, row))
	return 1
}

// pushDBError pushes kong.db's failure triple: nil, the message and the
// error table (code, name, message, fields).
func pushDBError(L *lua.LState, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(err.Error()))
	et := L.NewTable()
	et.RawSetString("message", lua.LString(err.Error()))
	var de *hostabi.DBError
	if errors.As(err, &de) {
		et.RawSetString("code", lua.LNumber(de.Code))
		et.RawSetString("name", lua.LString(de.Name))
		if de.Fields != nil {
			et.RawSetString("fields", fromGo(L, map[string]any(de.Fields), luavalue.Options{NullInTables: true, MarkArrays: true}))
		}
	}
	L.Push(et)
	return 3
}

// primaryKey reads {id = ...}, or a string key (Kong's DAO takes the
// primary key table; an endpoint key works too).
func primaryKey(L *lua.LState, v lua.LValue) string {
	switch x := v.(type) {
	case lua.LString:
		return string(x)
	case *lua.LTable:
		if id, ok := x.RawGetString("id").(lua.LString); ok {
			return string(id)
		}
	}
	L.RaiseError("primary_key must be a table with an id")
	return ""
}

// rowFromLua converts an entity table; 0.x foreign keys ("consumer_id",
// legacyForeignKeys) become Kong 1.x+ ones ({consumer = {id = ...}}).
func rowFromLua(L *lua.LState, v lua.LValue, what string) hostabi.Entity {
	t, ok := v.(*lua.LTable)
	if !ok {
		L.RaiseError("%s must be a table", what)
	}
	g, _ := toGo(L, t, what).(map[string]any)
	row := hostabi.Entity(g)
	if row == nil {
		row = hostabi.Entity{}
	}
	for name, val := range row {
		base, isFK := strings.CutSuffix(name, "_id")
		if !isFK || !legacyForeignKeys[base] {
			continue
		}
		id, ok := val.(string)
		if !ok {
			continue
		}
		if _, has := row[base]; !has {
			row[base] = map[string]any{"id": id}
		}
		delete(row, name)
	}
	return row
}

// legacyForeignKeys are the foreign keys 0.x rows named "<key>_id".
var legacyForeignKeys = map[string]bool{
	"consumer": true, "service": true, "route": true, "plugin": true,
	"credential": true, "upstream": true, "certificate": true,
}

func writeOptions(L *lua.LState, v lua.LValue) hostabi.WriteOptions {
	t, ok := v.(*lua.LTable)
	if !ok {
		return hostabi.WriteOptions{}
	}
	var o hostabi.WriteOptions
	if n, ok := t.RawGetString("ttl").(lua.LNumber); ok {
		o.TTL = int64(n)
	}
	return o
}

func tagOptions(L *lua.LState, v lua.LValue) ([]string, bool) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, false
	}
	var tags []string
	if list, ok := t.RawGetString("tags").(*lua.LTable); ok {
		list.ForEach(func(_, tag lua.LValue) {
			if s, ok := tag.(lua.LString); ok {
				tags = append(tags, string(s))
			}
		})
	}
	return tags, t.RawGetString("tags_cond") == lua.LString("or")
}

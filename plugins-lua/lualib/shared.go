package lualib

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// itemOverhead approximates the bytes an entry costs beyond its key and
// value, so a dictionary's capacity bounds its entry count as well.
const itemOverhead = 64

// maxKeyLen is OpenResty's limit on shared dict key length.
const maxKeyLen = 65535

// Dicts are the ngx.shared dictionaries of a node: created once with
// NewDicts, passed to every state in Options, safe for concurrent use by
// any number of states and goroutines.
type Dicts struct {
	dicts map[string]*Dict
}

// NewDicts creates one dictionary per entry of sizes (name -> capacity in
// bytes, as lua_shared_dict's size). A capacity <= 0 means 1 MiB.
func NewDicts(sizes map[string]int64) *Dicts {
	d := &Dicts{dicts: make(map[string]*Dict, len(sizes))}
	for name, size := range sizes {
		if size <= 0 {
			size = 1 << 20
		}
		d.dicts[name] = &Dict{name: name, capacity: size, items: make(map[string]*dictItem)}
	}
	return d
}

// Dict returns the dictionary called name, or nil.
func (d *Dicts) Dict(name string) *Dict {
	if d == nil {
		return nil
	}
	return d.dicts[name]
}

// Names returns the dictionary names, sorted.
func (d *Dicts) Names() []string {
	if d == nil {
		return nil
	}
	out := make([]string, 0, len(d.dicts))
	for k := range d.dicts {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Dict is one shared dictionary. Values are Lua strings, numbers and
// booleans (immutable, so they are shared between states as they are),
// each with an optional expiry and user flags.
type Dict struct {
	name     string
	capacity int64

	mu    sync.Mutex
	used  int64
	tick  uint64
	items map[string]*dictItem
}

type dictItem struct {
	val     lua.LValue
	flags   uint32
	expires time.Time // zero: never
	used    uint64    // LRU tick
	size    int64
}

// Name returns the dictionary's name.
func (d *Dict) Name() string { return d.name }

// Capacity returns the dictionary's capacity in bytes.
func (d *Dict) Capacity() int64 { return d.capacity }

func (it *dictItem) expired(now time.Time) bool {
	return !it.expires.IsZero() && !now.Before(it.expires)
}

func expiry(now time.Time, ttl float64) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(time.Duration(ttl * float64(time.Second)))
}

func valueSize(v lua.LValue) int64 {
	if s, ok := v.(lua.LString); ok {
		return int64(len(s))
	}
	return 8
}

// lookup returns the live item under key (nil when absent or expired).
func (d *Dict) lookup(key string, now time.Time) *dictItem {
	it := d.items[key]
	if it == nil || it.expired(now) {
		return nil
	}
	return it
}

func (d *Dict) remove(key string) {
	if it := d.items[key]; it != nil {
		d.used -= it.size
		delete(d.items, key)
	}
}

// makeRoom frees space for need bytes: expired entries first, then, when
// evict is set, the least recently used ones. It reports whether the
// space is available and whether live entries were evicted.
func (d *Dict) makeRoom(need int64, now time.Time, evict bool) (ok, forcible bool) {
	if need > d.capacity {
		return false, false
	}
	if d.used+need <= d.capacity {
		return true, false
	}
	for k, it := range d.items {
		if it.expired(now) {
			d.remove(k)
		}
	}
	if d.used+need <= d.capacity {
		return true, false
	}
	if !evict {
		return false, false
	}
	type entry struct {
		key  string
		used uint64
	}
	all := make([]entry, 0, len(d.items))
	for k, it := range d.items {
		all = append(all, entry{k, it.used})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used < all[j].used })
	for _, e := range all {
		if d.used+need <= d.capacity {
			break
		}
		d.remove(e.key)
		forcible = true
	}
	return d.used+need <= d.capacity, forcible
}

// store writes key; mode is "set", "safe_set", "add", "safe_add" or
// "replace". It returns ok, the error text of OpenResty and forcible.
func (d *Dict) store(mode, key string, val lua.LValue, ttl float64, flags uint32, now time.Time) (bool, string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	live := d.lookup(key, now)
	switch mode {
	case "add", "safe_add":
		if live != nil {
			return false, "exists", false
		}
	case "replace":
		if live == nil {
			return false, "not found", false
		}
	}
	if val == lua.LNil {
		d.remove(key)
		return true, "", false
	}
	d.remove(key)
	size := int64(len(key)) + valueSize(val) + itemOverhead
	ok, forcible := d.makeRoom(size, now, mode != "safe_set" && mode != "safe_add")
	if !ok {
		return false, "no memory", forcible
	}
	d.tick++
	d.items[key] = &dictItem{val: val, flags: flags, expires: expiry(now, ttl), used: d.tick, size: size}
	d.used += size
	return true, "", forcible
}

// get returns the value, flags and whether it was stale (expired but not
// yet removed; only returned when stale is allowed).
func (d *Dict) get(key string, now time.Time, allowStale bool) (lua.LValue, uint32, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	it := d.items[key]
	if it == nil {
		return lua.LNil, 0, false
	}
	if it.expired(now) {
		if allowStale {
			return it.val, it.flags, true
		}
		return lua.LNil, 0, false
	}
	d.tick++
	it.used = d.tick
	return it.val, it.flags, false
}

// incr adds delta to a number; a missing key starts at init when given.
func (d *Dict) incr(key string, delta float64, init lua.LValue, initTTL float64, now time.Time) (lua.LValue, string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	it := d.lookup(key, now)
	if it == nil {
		n, isNum := init.(lua.LNumber)
		if !isNum {
			return lua.LNil, "not found", false
		}
		d.remove(key)
		size := int64(len(key)) + 8 + itemOverhead
		ok, forcible := d.makeRoom(size, now, true)
		if !ok {
			return lua.LNil, "no memory", forcible
		}
		v := lua.LNumber(float64(n) + delta)
		d.tick++
		d.items[key] = &dictItem{val: v, expires: expiry(now, initTTL), used: d.tick, size: size}
		d.used += size
		return v, "", forcible
	}
	n, isNum := it.val.(lua.LNumber)
	if !isNum {
		return lua.LNil, "not a number", false
	}
	v := lua.LNumber(float64(n) + delta)
	it.val = v
	d.tick++
	it.used = d.tick
	return v, "", false
}

// ttl returns the remaining seconds (0: no expiry) or false when absent.
func (d *Dict) ttl(key string, now time.Time) (float64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	it := d.lookup(key, now)
	if it == nil {
		return 0, false
	}
	if it.expires.IsZero() {
		return 0, true
	}
	return math.Round(it.expires.Sub(now).Seconds()*1000) / 1000, true
}

func (d *Dict) expire(key string, ttl float64, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	it := d.lookup(key, now)
	if it == nil {
		return false
	}
	it.expires = expiry(now, ttl)
	return true
}

// flushAll marks every entry expired, as OpenResty does (get_stale still
// sees them until they are reclaimed).
func (d *Dict) flushAll(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, it := range d.items {
		it.expires = now
	}
}

func (d *Dict) flushExpired(max int, now time.Time) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for k, it := range d.items {
		if max > 0 && n >= max {
			break
		}
		if it.expired(now) {
			d.remove(k)
			n++
		}
	}
	return n
}

func (d *Dict) keys(max int, now time.Time) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.items))
	for k, it := range d.items {
		if !it.expired(now) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out
}

func (d *Dict) freeSpace(now time.Time) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.capacity - d.used
}

const dictTypeName = "ngx.shared.DICT"

// luaTable builds ngx.shared: one userdata per dictionary, all sharing a
// metatable of methods called with ':'.
func (d *Dicts) luaTable(L *lua.LState, o *Options) *lua.LTable {
	shared := L.NewTable()
	if d == nil {
		return shared
	}
	mt := L.NewTable()
	methods := L.NewTable()
	setFuncs(L, methods, dictMethods(o))
	mt.RawSetString("__index", methods)
	mt.RawSetString("__metatable", lua.LString(dictTypeName))
	for name, dict := range d.dicts {
		ud := L.NewUserData()
		ud.Value = dict
		ud.Metatable = mt
		shared.RawSetString(name, ud)
	}
	return shared
}

// self checks that argument 1 is a dictionary (the method was called with
// ':'), as OpenResty does.
func (c *call) dict() *Dict {
	if ud, ok := c.L.Get(1).(*lua.LUserData); ok {
		if d, ok := ud.Value.(*Dict); ok {
			return d
		}
	}
	c.L.RaiseError("bad \"zone\" argument")
	return nil
}

// key checks a dictionary key, pushing OpenResty's (nil, err) on failure.
func (c *call) dictKey(n int) (string, bool) {
	switch v := c.L.Get(n).(type) {
	case *lua.LNilType:
		return "", false
	case lua.LString, lua.LNumber:
		s := lua.LVAsString(v)
		if s == "" || len(s) > maxKeyLen {
			return s, false
		}
		return s, true
	}
	return "", false
}

func keyError(c *call, n int, results int) int {
	v := c.L.Get(n)
	msg := "nil key"
	switch vv := v.(type) {
	case *lua.LNilType:
	case lua.LString, lua.LNumber:
		if lua.LVAsString(vv) == "" {
			msg = "empty key"
		} else {
			msg = "key too long"
		}
	default:
		msg = "bad key type"
	}
	c.L.Push(lua.LNil)
	if results == 3 {
		c.L.Push(lua.LString(msg))
		c.L.Push(lua.LFalse)
		return 3
	}
	c.L.Push(lua.LString(msg))
	return 2
}

func dictValue(v lua.LValue) (lua.LValue, bool) {
	switch v.(type) {
	case lua.LString, lua.LNumber, lua.LBool, *lua.LNilType:
		return v, true
	}
	return lua.LNil, false
}

func dictMethods(o *Options) map[string]lfunc {
	storeFn := func(mode string) lfunc {
		return func(c *call) int {
			d := c.dict()
			key, ok := c.dictKey(2)
			if !ok {
				return keyError(c, 2, 3)
			}
			val, ok := dictValue(c.L.Get(3))
			if !ok {
				return c.push(lua.LNil, lua.LString("bad value type"), lua.LFalse)
			}
			ttl := c.optNum(4, 0)
			flags := uint32(c.optInt(5, 0))
			success, errText, forcible := d.store(mode, key, val, ttl, flags, o.now())
			if !success {
				return c.push(lua.LFalse, lua.LString(errText), lua.LBool(forcible))
			}
			if mode == "safe_set" || mode == "safe_add" {
				return c.push(lua.LTrue)
			}
			return c.push(lua.LTrue, lua.LNil, lua.LBool(forcible))
		}
	}
	getFn := func(stale bool) lfunc {
		return func(c *call) int {
			d := c.dict()
			key, ok := c.dictKey(2)
			if !ok {
				return keyError(c, 2, 2)
			}
			v, flags, isStale := d.get(key, o.now(), stale)
			if v == lua.LNil {
				return c.push(lua.LNil)
			}
			var fl lua.LValue = lua.LNil
			if flags != 0 {
				fl = lua.LNumber(flags)
			}
			if stale {
				return c.push(v, fl, lua.LBool(isStale))
			}
			if flags != 0 {
				return c.push(v, fl)
			}
			return c.push(v)
		}
	}
	return map[string]lfunc{
		"get":       getFn(false),
		"get_stale": getFn(true),
		"set":       storeFn("set"),
		"safe_set":  storeFn("safe_set"),
		"add":       storeFn("add"),
		"safe_add":  storeFn("safe_add"),
		"replace":   storeFn("replace"),
		"delete": func(c *call) int {
			d := c.dict()
			key, ok := c.dictKey(2)
			if !ok {
				return keyError(c, 2, 2)
			}
			d.store("set", key, lua.LNil, 0, 0, o.now())
			return c.push(lua.LTrue)
		},
		"incr": func(c *call) int {
			d := c.dict()
			key, ok := c.dictKey(2)
			if !ok {
				return keyError(c, 2, 3)
			}
			delta, isNum := c.L.Get(3).(lua.LNumber)
			if !isNum {
				return c.push(lua.LNil, lua.LString("not a number"), lua.LFalse)
			}
			init := c.L.Get(4)
			if init != lua.LNil {
				if _, ok := init.(lua.LNumber); !ok {
					return c.push(lua.LNil, lua.LString("number expected, got "+init.Type().String()), lua.LFalse)
				}
			}
			initTTL := c.optNum(5, 0)
			v, errText, forcible := d.incr(key, float64(delta), init, initTTL, o.now())
			if v == lua.LNil {
				return c.push(lua.LNil, lua.LString(errText), lua.LBool(forcible))
			}
			if init != lua.LNil {
				return c.push(v, lua.LNil, lua.LBool(forcible))
			}
			return c.push(v)
		},
		"ttl": func(c *call) int {
			d := c.dict()
			key, ok := c.dictKey(2)
			if !ok {
				return keyError(c, 2, 2)
			}
			ttl, found := d.ttl(key, o.now())
			if !found {
				return c.push(lua.LNil, lua.LString("not found"))
			}
			return c.push(lua.LNumber(ttl))
		},
		"expire": func(c *call) int {
			d := c.dict()
			key, ok := c.dictKey(2)
			if !ok {
				return keyError(c, 2, 2)
			}
			if !d.expire(key, c.num(3), o.now()) {
				return c.push(lua.LNil, lua.LString("not found"))
			}
			return c.push(lua.LTrue)
		},
		"flush_all": func(c *call) int {
			c.dict().flushAll(o.now())
			return 0
		},
		"flush_expired": func(c *call) int {
			d := c.dict()
			return c.push(lua.LNumber(d.flushExpired(int(c.optInt(2, 0)), o.now())))
		},
		"get_keys": func(c *call) int {
			d := c.dict()
			keys := d.keys(int(c.optInt(2, 1024)), o.now())
			t := c.L.CreateTable(len(keys), 0)
			for _, k := range keys {
				t.Append(lua.LString(k))
			}
			return c.push(t)
		},
		"capacity":   func(c *call) int { return c.push(lua.LNumber(c.dict().capacity)) },
		"free_space": func(c *call) int { return c.push(lua.LNumber(c.dict().freeSpace(o.now()))) },
	}
}

// Go access, for host code sharing a dictionary with Lua (values are
// string, float64 or bool, as Lua sees them).

// Get returns the live value under key.
func (d *Dict) Get(key string, now time.Time) (any, bool) {
	v, _, _ := d.get(key, now, false)
	switch x := v.(type) {
	case lua.LString:
		return string(x), true
	case lua.LNumber:
		return float64(x), true
	case lua.LBool:
		return bool(x), true
	}
	return nil, false
}

// Set stores value (string, a Go number, bool; nil deletes) with a ttl
// (0: none), evicting least recently used entries when full.
func (d *Dict) Set(key string, value any, ttl time.Duration, now time.Time) error {
	var v lua.LValue
	switch x := value.(type) {
	case nil:
		v = lua.LNil
	case string:
		v = lua.LString(x)
	case bool:
		v = lua.LBool(x)
	case int:
		v = lua.LNumber(x)
	case int64:
		v = lua.LNumber(x)
	case float64:
		v = lua.LNumber(x)
	default:
		return fmt.Errorf("shared dict %s: bad value type %T", d.name, value)
	}
	if ok, msg, _ := d.store("set", key, v, ttl.Seconds(), 0, now); !ok {
		return fmt.Errorf("shared dict %s: %s", d.name, msg)
	}
	return nil
}

// Incr adds delta to the number under key, starting from init (with ttl)
// when the key is absent.
func (d *Dict) Incr(key string, delta, init float64, ttl time.Duration, now time.Time) (float64, error) {
	v, msg, _ := d.incr(key, delta, lua.LNumber(init), ttl.Seconds(), now)
	n, ok := v.(lua.LNumber)
	if !ok {
		return 0, fmt.Errorf("shared dict %s: %s", d.name, msg)
	}
	return float64(n), nil
}

// Delete removes key.
func (d *Dict) Delete(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.remove(key)
}

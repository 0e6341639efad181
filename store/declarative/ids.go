package declarative

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/store"
	"github.com/google/uuid"
)

// EntitiesNamespace is the UUID namespace of Kong's deterministic entity
// ids (kong/db/schema/others/declarative_config.lua): the id of an entity
// without one is UUIDv5(UUIDv5(EntitiesNamespace, entity name), key).
var EntitiesNamespace = uuid.MustParse("fd02801f-0957-4a15-a55a-c8d9606f30b5")

// GenerateID returns Kong's deterministic id for an entity of the named
// type whose key is key: UUIDv5(UUIDv5(EntitiesNamespace, entity), key).
func GenerateID(entity, key string) string {
	ns := uuid.NewSHA1(EntitiesNamespace, []byte(entity))
	return uuid.NewSHA1(ns, []byte(key)).String()
}

// kongIDKey reproduces the key Kong 3.x hashes into the id of an entity
// declared without one (get_key_for_uuid_gen in declarative_config.lua),
// in the default workspace, which Kong writes "*":
//
//   - entities with a cache key (Entity.KongCacheKey): "<entity>:*:<cache key values>", where a
//     value is the string given in the file (a foreign key by name stays a
//     name), the parent's id for the foreign key of a nested entity, or ""
//     for an optional field left out; Kong gives up (ok false) when a cache
//     key field is generated (a key-auth key) or a required one is missing;
//   - otherwise the endpoint key's value (a service's name), suffixed with
//     the parent's key and ":*" when the endpoint key is not unique.
//
// parentField and parentID name the foreign key a nested entity gets from
// the entity it is nested in ("" for a top-level entity).
func kongIDKey(e *store.Entity, rec map[string]any, parentField, parentID string) (string, bool) {
	if ck := e.KongCacheKey; len(ck) > 0 {
		parts := []string{e.Name, "*"}
		for _, k := range ck {
			f := e.Schema.Field(k)
			if f != nil && f.Auto {
				return "", false
			}
			v, present := rec[k]
			switch t := v.(type) {
			case string:
				parts = append(parts, t)
			case nil:
				if present {
					continue // Kong's null is neither a string nor absent
				}
				if k == parentField {
					parts = append(parts, parentID)
					continue
				}
				if f != nil && f.Required {
					return "", false
				}
				parts = append(parts, "")
			}
		}
		return strings.Join(parts, ":"), true
	}
	ek := e.EndpointKey
	if ek == "" {
		return "", false
	}
	key, ok := rec[ek].(string)
	if !ok {
		return "", false
	}
	if f := e.Schema.Field(ek); f == nil || !f.Unique {
		for _, ff := range e.Foreigns() {
			if ff.OnDelete != "cascade" {
				continue
			}
			if parentField != "" {
				key += ":" + parentID
				continue
			}
			s, ok := rec[ff.Name].(string)
			if !ok {
				return "", false
			}
			key += ":" + s
		}
		key += ":*"
	}
	return key, true
}

// generateID returns the id of an entity declared without one. Where Kong
// derives it (see kongIDKey) the id is Kong's. Where Kong would draw a
// random id (certificates, CA certificates, consumers with only a
// custom_id, credentials whose key is generated), Gatehouse still derives
// one, so that loading a file twice keeps every id: UUIDv5 in the entity's
// namespace of "gatehouse:" followed by the record's canonical JSON (keys
// sorted, nested entities removed, the parent's foreign key included), with
// "#2", "#3", … appended to repeated identical records.
func (p *parser) generateID(e *store.Entity, rec map[string]any, parentField, parentID string) string {
	if key, ok := kongIDKey(e, rec, parentField, parentID); ok {
		return GenerateID(e.Name, key)
	}
	c := make(map[string]any, len(rec)+1)
	for k, v := range rec {
		c[k] = v
	}
	if parentField != "" {
		if _, given := c[parentField]; !given {
			c[parentField] = map[string]any{"id": parentID}
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		b = []byte(fmt.Sprint(c))
	}
	name := "gatehouse:" + string(b)
	seen := e.Name + "\x00" + name
	p.fallbacks[seen]++
	if n := p.fallbacks[seen]; n > 1 {
		name += fmt.Sprintf("#%d", n)
	}
	return GenerateID(e.Name, name)
}

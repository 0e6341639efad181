// Package schema describes entity and plugin-configuration fields the way Kong's
// schema library does, and provides the three operations every write goes
// through: coercion of loosely typed input (form bodies, YAML), default filling,
// and validation. It also renders a schema as Kong's `GET /schemas/...` JSON.
//
// Values are plain Go trees: nil (null), bool, int64 (integer), float64
// (number), string, []any (array and set) and map[string]any (record, map,
// foreign key).
//
// # Schemas as data
//
// A schema is data: Render writes it as Kong's `/schemas` JSON and FromJSON
// reads that JSON back into the same Schema values, which validate with the
// same results and messages and render the same bytes. Plugins delivered as
// data (Lua, Wasm) have their schemas loaded this way; store.PluginSchemaFromJSON
// reads a whole `/schemas/plugins/{name}` body.
//
// The vocabulary is Kong's: the types string, integer, number, boolean,
// array, set, map, record, foreign and json; the field attributes required,
// default, unique, auto, uuid, timestamp, immutable, one_of, not_one_of, eq
// (`"eq": null` is Field.Null), between, gt, len_min, len_max, starts_with,
// match, not_match, match_none, match_all, match_any (Lua patterns, run as
// RE2 after LuaPatternToRE2), elements, keys, values, fields, reference,
// on_delete, referenceable, encrypted, sensitive and description; and the
// entity checks at_least_one_of, only_one_of, mutually_exclusive,
// mutually_required, distinct, conditional and conditional_at_least_one_of
// (EntityCheck), on a schema or on a record field.
//
// Kong does not render custom validators (custom_validator,
// custom_entity_check). Gatehouse names them instead: a validator registered
// with RegisterValidator or RegisterRecordValidator is referred to by name
// and rendered under the Gatehouse extension key "x_gatehouse_validator"
// (ValidatorKey), as a field attribute or as an entity check
// ({"x_gatehouse_validator": "rate-limiting"}); Field.MatchMessage renders
// under "x_gatehouse_match_message". FromJSON refuses names nobody
// registered. Go-only parts (Field.Check, Field.Match, Schema.Conditionals,
// Schema.Checks added directly) still work but do not render; GoOnly lists
// them.
package schema

import (
	"regexp"
)

// Type is the type of a field, named as Kong names it.
type Type string

// The field types Kong's schema library knows.
const (
	String  Type = "string"
	Integer Type = "integer"
	Number  Type = "number"
	Boolean Type = "boolean"
	Array   Type = "array"
	Set     Type = "set"
	Map     Type = "map"
	Record  Type = "record"
	Foreign Type = "foreign"
	JSON    Type = "json"
)

// Field declares one field of a record. Zero values mean "no constraint".
type Field struct {
	// Name is the field's key in the record.
	Name string
	// Type is the field's type.
	Type Type
	// Required rejects null and missing values (after defaults are filled).
	Required bool
	// Optional marks a record Kong declares `required = false`: RequireRecords
	// leaves it nullable.
	Optional bool
	// Default is the value used on insert when the input leaves the field out.
	Default any
	// Unique marks the value unique across all entities of the type.
	Unique bool
	// Auto generates the value: a UUID for strings with UUID set, the current
	// epoch second for integers with Timestamp set, a random token otherwise.
	Auto bool
	// UUID requires the string to be a UUID.
	UUID bool
	// Timestamp marks an epoch-seconds integer.
	Timestamp bool
	// Immutable rejects changes once the entity exists.
	Immutable bool
	// OneOf lists the accepted values.
	OneOf []any
	// Between bounds a numeric value, inclusive.
	Between *[2]float64
	// Gt requires a numeric value strictly greater than this.
	Gt *float64
	// LenMin and LenMax bound the length of strings and arrays (0: none).
	LenMin, LenMax int
	// StartsWith requires a string prefix.
	StartsWith string
	// Deprecation marks a field Kong keeps for old configurations (its
	// schema's deprecation attribute); it only renders.
	Deprecation *Deprecation
	// IsRegex requires a string that compiles as a regular expression
	// (Kong's is_regex; Go's RE2 syntax stands for PCRE).
	IsRegex bool
	// Pattern requires the string to match a Lua pattern, as Kong's `match`
	// does (translated to RE2 by LuaPatternToRE2, compiled once); it renders
	// as "match".
	Pattern string
	// NotMatch refuses strings matching a Lua pattern (Kong's not_match).
	NotMatch string
	// MatchNone refuses a string matching any rule's pattern, with the
	// rule's message (Kong's match_none).
	MatchNone []PatternRule
	// MatchAll requires every rule's pattern to match, reporting the first
	// failing rule's message (Kong's match_all).
	MatchAll []PatternRule
	// MatchAny requires one of its patterns to match (Kong's match_any).
	MatchAny *MatchAny
	// Match requires the string to match a Go regular expression. It is
	// Go-only and not rendered: prefer Pattern.
	Match *regexp.Regexp
	// MatchMessage is the error shown when Match fails.
	MatchMessage string
	// NotOneOf lists refused values (Kong's not_one_of).
	NotOneOf []any
	// Eq requires the value to equal this scalar (Kong's eq); nil: none.
	Eq any
	// Contains requires an array or set to hold this scalar (Kong's
	// contains); nil: none.
	Contains any
	// Null requires the value to be null (Kong's `eq = null`, as in the
	// no_consumer typedef); it renders as "eq": null.
	Null bool
	// Validator names a custom validator registered with RegisterValidator,
	// run after the built-in constraints. It renders and loads under the
	// Gatehouse extension key "x_gatehouse_validator" (see ValidatorKey), so
	// a schema with named validators survives a round trip through JSON.
	Validator string
	// Check is a Go-only custom validator run after Validator; it returns
	// the error message or "". It cannot be rendered: prefer Validator.
	Check func(v any) string
	// EntityChecks are the entity checks of a record field, run after its
	// fields are valid; their messages, joined by "; ", are the field's
	// error. They render under the field's "entity_checks".
	EntityChecks []EntityCheck
	// Elements declares the elements of an array or set.
	Elements *Field
	// Keys and Values declare the entries of a map.
	Keys, Values *Field
	// Fields declares the fields of a record.
	Fields []*Field
	// Reference names the entity a foreign field points to.
	Reference string
	// OnDelete is "cascade" when deleting the referenced entity deletes this one.
	OnDelete string
	// Referenceable, Encrypted and Sensitive are rendered in the schema only.
	Referenceable, Encrypted, Sensitive bool
	// Description is rendered in the schema.
	Description string
}

// PatternRule is a Lua pattern with the message reported when the rule
// fails ("" for Kong's "invalid value: <value>").
type PatternRule struct {
	Pattern string
	Err     string
}

// MatchAny lists Lua patterns one of which must match, and the message
// reported when none does ("" for "invalid value: <value>").
type MatchAny struct {
	Patterns []string
	Err      string
}

// Schema is an ordered list of fields: the shape of an entity or of a plugin's
// configuration.
type Schema struct {
	// Fields in declaration order (the order Kong renders them in).
	Fields []*Field
	// Checks run on the whole record. Each returns the messages to report
	// under "@entity", or nil; a check must tolerate invalid field values.
	// Checks added here directly are Go-only and cannot be rendered; use
	// AddEntityChecks for checks that render and load back.
	Checks []func(rec map[string]any) []string
	// EntityChecks are the record's entity checks as data, as AddEntityChecks
	// (or FromJSON) adds them; the first element of Checks runs them.
	EntityChecks []EntityCheck
	// CheckRoot is the prefix EntityChecks' paths carry that the record does
	// not ("config" for plugin configs).
	CheckRoot string
	// compiledChecks reports that Checks[0] runs EntityChecks.
	compiledChecks bool
	// Conditionals are Kong's conditional entity checks: when the If field's
	// value satisfies When, the Then field must pass Then.
	Conditionals []Conditional
}

// Conditional is one conditional entity check. A failure reports the Then
// field's message on that field and "failed conditional validation given
// value of field '<If>'" under "@entity", as Kong does.
type Conditional struct {
	If   string
	When func(v any) bool
	Then string
	// Check returns the message for the Then field's value, or "".
	Check func(v any) string
	// Quiet leaves out the "@entity" message (Kong's protocol subschemas
	// report only on the field).
	Quiet bool
}

// MustBeNull is a Conditional check: the field must be null.
func MustBeNull(v any) string {
	if v != nil {
		return "value must be null"
	}
	return ""
}

// Required is a Conditional check: the field must be set.
func Required(v any) string {
	if v == nil {
		return "required field missing"
	}
	return ""
}

// OneOfStrings returns a When that matches any of the given strings.
func OneOfStrings(values ...string) func(any) bool {
	return func(v any) bool {
		s, _ := v.(string)
		for _, x := range values {
			if s == x {
				return true
			}
		}
		return false
	}
}

// Field returns the named field or nil.
func (r *Schema) Field(name string) *Field {
	for _, f := range r.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Float returns a pointer to f, for Gt and friends.
func Float(f float64) *float64 { return &f }

// Range returns the bounds of a Between constraint.
func Range(lo, hi float64) *[2]float64 { return &[2]float64{lo, hi} }

// RequireRecords makes the record fields among fields, and the records
// nested in them, required unless marked Optional, as Kong does for the
// records of entity schemas and plugin configurations (so they are returned
// whole). It changes the fields in place and is idempotent.
func RequireRecords(fields []*Field) {
	for _, f := range fields {
		if f.Type != Record {
			continue
		}
		if !f.Optional {
			f.Required = true
		}
		RequireRecords(f.Fields)
	}
}

// Deprecation is Kong's deprecation attribute of a field.
type Deprecation struct {
	Message          string
	RemovalInVersion string
	// OldDefault is the default the field had (nil: none).
	OldDefault any
}

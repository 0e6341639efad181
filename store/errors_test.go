package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

func TestCodeNames(t *testing.T) {
	// Codes and names from Kong's kong/db/errors.lua; 20 is Gatehouse's.
	cases := []struct {
		code store.Code
		num  int
		name string
	}{
		{store.CodeInvalidPrimaryKey, 1, "invalid primary key"},
		{store.CodeSchemaViolation, 2, "schema violation"},
		{store.CodePrimaryKeyViolation, 3, "primary key violation"},
		{store.CodeForeignKeyViolation, 4, "foreign key violation"},
		{store.CodeUniqueViolation, 5, "unique constraint violation"},
		{store.CodeNotFound, 6, "not found"},
		{store.CodeInvalidOffset, 7, "invalid offset"},
		{store.CodeDatabaseError, 8, "database error"},
		{store.CodeInvalidSize, 9, "invalid size"},
		{store.CodeInvalidUnique, 10, "invalid unique"},
		{store.CodeInvalidOptions, 11, "invalid options"},
		{store.CodeOperationUnsupported, 12, "operation unsupported"},
		{store.CodeForeignKeysUnresolved, 13, "foreign keys unresolved"},
		{store.CodeDeclarativeConfig, 14, "invalid declarative configuration"},
		{store.CodeTransformationError, 15, "transformation error"},
		{store.CodeInvalidForeignKey, 16, "invalid foreign key"},
		{store.CodeInvalidWorkspace, 17, "invalid workspace"},
		{store.CodeInvalidUniqueGlobal, 18, "invalid global query"},
		{store.CodeReferencedByOthers, 19, "referenced by others"},
		{store.CodeInvalidSearchQuery, 20, "invalid search query"},
		{store.Code(0), 0, ""},
		{store.Code(99), 99, ""},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.num), func(t *testing.T) {
			if int(c.code) != c.num {
				t.Errorf("code = %d, want %d", c.code, c.num)
			}
			if got := c.code.Name(); got != c.name {
				t.Errorf("Name() = %q, want %q", got, c.name)
			}
		})
	}
}

func TestErrorConstructors(t *testing.T) {
	const id = "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"
	cases := []struct {
		name   string
		err    *store.Error
		code   store.Code
		msg    string
		fields schema.Errors
	}{
		{"schema violation, one field", store.SchemaViolation(schema.Errors{"host": "required field missing"}),
			store.CodeSchemaViolation, "schema violation (host: required field missing)",
			schema.Errors{"host": "required field missing"}},
		{"schema violation, two fields", store.SchemaViolation(schema.Errors{"host": "required field missing", "connect_timeout": "expected an integer"}),
			store.CodeSchemaViolation, "2 schema violations (connect_timeout: expected an integer; host: required field missing)",
			schema.Errors{"host": "required field missing", "connect_timeout": "expected an integer"}},
		{"schema violation, entity first", store.SchemaViolation(schema.Errors{
			"@entity": []any{"at least one of these fields must be non-empty: 'custom_id', 'username'"},
			"tags":    []any{"invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"},
		}), store.CodeSchemaViolation,
			"2 schema violations (at least one of these fields must be non-empty: 'custom_id', 'username'; " +
				"tags.1: invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences)",
			nil},
		{"schema violation, array element", store.SchemaViolation(schema.Errors{"protocols": []any{nil, "expected one of: http, https"}}),
			store.CodeSchemaViolation, "schema violation (protocols.2: expected one of: http, https)", nil},
		{"schema violation, nested record", store.SchemaViolation(schema.Errors{"config": schema.Errors{"minute": "value must be greater than 0"}}),
			store.CodeSchemaViolation, "schema violation (config.minute: value must be greater than 0)", nil},
		{"schema violation, three", store.SchemaViolation(schema.Errors{"a": "x", "b": "y", "@entity": []any{"z"}}),
			store.CodeSchemaViolation, "3 schema violations (z; a: x; b: y)", nil},

		{"unique, one field", store.UniqueViolation(map[string]any{"name": "crud"}),
			store.CodeUniqueViolation, `UNIQUE violation detected on '{name="crud"}'`, schema.Errors{"name": "crud"}},
		{"unique, cache key with nulls", store.UniqueViolation(map[string]any{
			"name": "rewriter", "consumer": map[string]any{"id": id}, "route": nil, "service": nil,
		}), store.CodeUniqueViolation,
			`UNIQUE violation detected on '{consumer={id="` + id + `"},name="rewriter",route=null,service=null}'`,
			schema.Errors{"name": "rewriter", "consumer": map[string]any{"id": id}, "route": nil, "service": nil}},
		{"unique, acl group", store.UniqueViolation(map[string]any{"consumer": map[string]any{"id": id}, "group": "user"}),
			store.CodeUniqueViolation, `UNIQUE violation detected on '{consumer={id="` + id + `"},group="user"}'`, nil},
		{"unique, quotes escaped", store.UniqueViolation(map[string]any{"key": `a"b`}),
			store.CodeUniqueViolation, `UNIQUE violation detected on '{key="a\"b"}'`, nil},
		{"unique, number", store.UniqueViolation(map[string]any{"port": int64(80)}),
			store.CodeUniqueViolation, `UNIQUE violation detected on '{port=80}'`, nil},

		{"foreign key", store.ForeignKeyViolation("service", map[string]any{"id": id}, "services"),
			store.CodeForeignKeyViolation, `the foreign key '{id="` + id + `"}' does not reference an existing 'services' entity.`,
			schema.Errors{"service": `the foreign key '{id="` + id + `"}' does not reference an existing 'services' entity.`}},
		{"restricted delete", store.RestrictedDelete("routes", "services"),
			store.CodeForeignKeyViolation, "an existing 'routes' entity references this 'services' entity",
			schema.Errors{"@referenced_by": "routes"}},
		{"invalid offset", store.InvalidOffset("!!"),
			store.CodeInvalidOffset, "'!!' is not a valid offset: bad base64 encoding", nil},
		{"invalid size", store.InvalidSize("size must be an integer between 1 and 1000"),
			store.CodeInvalidSize, "size must be an integer between 1 and 1000", nil},
		{"operation unsupported", store.OperationUnsupported("cannot create 'services' entities when not using a database"),
			store.CodeOperationUnsupported, "cannot create 'services' entities when not using a database", nil},
		{"database error", store.DatabaseError(errors.New("disk I/O error")),
			store.CodeDatabaseError, "disk I/O error", nil},
		{"not found", store.ErrNotFound, store.CodeNotFound, "not found", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.err.Code != c.code {
				t.Errorf("Code = %d, want %d", c.err.Code, c.code)
			}
			if c.err.Message != c.msg {
				t.Errorf("Message =\n%q\nwant\n%q", c.err.Message, c.msg)
			}
			if c.err.Error() != c.msg {
				t.Errorf("Error() = %q", c.err.Error())
			}
			if c.fields != nil && !reflect.DeepEqual(c.err.Fields, c.fields) {
				t.Errorf("Fields = %#v, want %#v", c.err.Fields, c.fields)
			}
			if c.code != store.CodeSchemaViolation && c.code != store.CodeUniqueViolation &&
				c.code != store.CodeForeignKeyViolation && c.err.Fields != nil {
				t.Errorf("Fields = %#v, want none", c.err.Fields)
			}
		})
	}
}

func TestSchemaViolationKeepsFields(t *testing.T) {
	fields := schema.Errors{"paths": []any{"should start with: / (fixed path) or ~/ (regex path)"}}
	e := store.SchemaViolation(fields)
	if !reflect.DeepEqual(e.Fields, fields) {
		t.Errorf("Fields = %#v", e.Fields)
	}
}

func TestAsErrorAndIsNotFound(t *testing.T) {
	wrapped := fmt.Errorf("routes[2]: %w", store.UniqueViolation(map[string]any{"name": "r"}))
	cases := []struct {
		name     string
		err      error
		ok       bool
		code     store.Code
		notFound bool
	}{
		{"nil", nil, false, 0, false},
		{"plain error", errors.New("boom"), false, 0, false},
		{"store error", store.InvalidSize("x"), true, store.CodeInvalidSize, false},
		{"wrapped store error", wrapped, true, store.CodeUniqueViolation, false},
		{"not found", store.ErrNotFound, true, store.CodeNotFound, true},
		{"wrapped not found", fmt.Errorf("get: %w", store.ErrNotFound), true, store.CodeNotFound, true},
		{"other code 6 error", &store.Error{Code: store.CodeNotFound, Message: "could not find"}, true, store.CodeNotFound, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := store.AsError(c.err)
			if ok != c.ok {
				t.Fatalf("AsError ok = %v, want %v", ok, c.ok)
			}
			if ok && e.Code != c.code {
				t.Errorf("code = %d, want %d", e.Code, c.code)
			}
			if got := store.IsNotFound(c.err); got != c.notFound {
				t.Errorf("IsNotFound = %v, want %v", got, c.notFound)
			}
		})
	}
}

func TestOffsets(t *testing.T) {
	off := store.EncodeOffset("a", "b")
	parts, err := store.DecodeOffset(off)
	if err != nil || !reflect.DeepEqual(parts, []string{"a", "b"}) {
		t.Errorf("round trip: %v %v", parts, err)
	}
	for _, bad := range []string{"!!", "", store.EncodeOffset()} {
		_, err := store.DecodeOffset(bad)
		e, ok := store.AsError(err)
		if !ok || e.Code != store.CodeInvalidOffset || e.Message != "'"+bad+"' is not a valid offset: bad base64 encoding" {
			t.Errorf("DecodeOffset(%q) = %v", bad, err)
		}
	}
}

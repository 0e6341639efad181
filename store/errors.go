package store

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/store/schema"
)

// Code numbers a store error the way Kong's kong/db/errors.lua does.
type Code int

// Kong's error codes.
const (
	CodeInvalidPrimaryKey     Code = 1
	CodeSchemaViolation       Code = 2
	CodePrimaryKeyViolation   Code = 3
	CodeForeignKeyViolation   Code = 4
	CodeUniqueViolation       Code = 5
	CodeNotFound              Code = 6
	CodeInvalidOffset         Code = 7
	CodeDatabaseError         Code = 8
	CodeInvalidSize           Code = 9
	CodeInvalidUnique         Code = 10
	CodeInvalidOptions        Code = 11
	CodeOperationUnsupported  Code = 12
	CodeForeignKeysUnresolved Code = 13
	CodeDeclarativeConfig     Code = 14
	CodeTransformationError   Code = 15
	CodeInvalidForeignKey     Code = 16
	CodeInvalidWorkspace      Code = 17
	CodeInvalidUniqueGlobal   Code = 18
	CodeReferencedByOthers    Code = 19
	CodeInvalidSearchQuery    Code = 20
)

var codeNames = map[Code]string{
	CodeInvalidPrimaryKey:     "invalid primary key",
	CodeSchemaViolation:       "schema violation",
	CodePrimaryKeyViolation:   "primary key violation",
	CodeForeignKeyViolation:   "foreign key violation",
	CodeUniqueViolation:       "unique constraint violation",
	CodeNotFound:              "not found",
	CodeInvalidOffset:         "invalid offset",
	CodeDatabaseError:         "database error",
	CodeInvalidSize:           "invalid size",
	CodeInvalidUnique:         "invalid unique",
	CodeInvalidOptions:        "invalid options",
	CodeOperationUnsupported:  "operation unsupported",
	CodeForeignKeysUnresolved: "foreign keys unresolved",
	CodeDeclarativeConfig:     "invalid declarative configuration",
	CodeTransformationError:   "transformation error",
	CodeInvalidForeignKey:     "invalid foreign key",
	CodeInvalidWorkspace:      "invalid workspace",
	CodeInvalidUniqueGlobal:   "invalid global query",
	CodeReferencedByOthers:    "referenced by others",
	CodeInvalidSearchQuery:    "invalid search query",
}

// Name returns Kong's name for the code.
func (c Code) Name() string { return codeNames[c] }

// Error is a store error with Kong's code, message and field details. The
// Admin API renders it as {"code", "name", "message", "fields"}.
type Error struct {
	Code    Code
	Message string
	Fields  schema.Errors
}

func (e *Error) Error() string { return e.Message }

// ErrNotFound is returned when an entity does not exist.
var ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}

// AsError returns err as a *Error when it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsNotFound reports whether err means the entity does not exist.
func IsNotFound(err error) bool {
	e, ok := AsError(err)
	return ok && e.Code == CodeNotFound
}

// SchemaViolation builds Kong's schema violation error from field errors:
// "schema violation (host: required field missing)", or "2 schema
// violations (...; ...)" for several.
func SchemaViolation(fields schema.Errors) *Error {
	msgs := fields.Flatten()
	prefix := "schema violation"
	if len(msgs) > 1 {
		prefix = fmt.Sprintf("%d schema violations", len(msgs))
	}
	return &Error{
		Code:    CodeSchemaViolation,
		Message: fmt.Sprintf("%s (%s)", prefix, strings.Join(msgs, "; ")),
		Fields:  fields,
	}
}

// luaValue renders a value the way Kong prints keys in error messages.
func luaValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", t)
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + luaValue(t[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprint(v)
}

// UniqueViolation builds Kong's unique violation error for the given values.
func UniqueViolation(values map[string]any) *Error {
	return &Error{
		Code:    CodeUniqueViolation,
		Message: fmt.Sprintf("UNIQUE violation detected on '%s'", luaValue(values)),
		Fields:  toErrors(values),
	}
}

func toErrors(m map[string]any) schema.Errors {
	out := schema.Errors{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ForeignKeyViolation builds Kong's error for a foreign key that points at
// nothing.
func ForeignKeyViolation(field string, key map[string]any, ref string) *Error {
	return &Error{
		Code:    CodeForeignKeyViolation,
		Message: fmt.Sprintf("the foreign key '%s' does not reference an existing '%s' entity.", luaValue(key), ref),
		Fields:  schema.Errors{field: fmt.Sprintf("the foreign key '%s' does not reference an existing '%s' entity.", luaValue(key), ref)},
	}
}

// ForeignKeysUnresolved builds Kong's error for a foreign key given by an
// endpoint key ({"name": "x"}) that names nothing.
func ForeignKeysUnresolved(field, key, value, ref string) *Error {
	msg := fmt.Sprintf("the foreign key cannot be resolved with '{%s=%q}' for an existing '%s' entity", key, value, ref)
	return &Error{
		Code:    CodeForeignKeysUnresolved,
		Message: fmt.Sprintf("foreign key unresolved (%s.%s: %s)", field, key, msg),
		Fields:  schema.Errors{field: schema.Errors{key: msg}},
	}
}

// RestrictedDelete builds Kong's error for deleting an entity that others
// still reference through a foreign key without cascade (a foreign key
// violation, as Kong reports it).
func RestrictedDelete(referencing, referenced string) *Error {
	return &Error{
		Code:    CodeForeignKeyViolation,
		Message: fmt.Sprintf("an existing '%s' entity references this '%s' entity", referencing, referenced),
		Fields:  schema.Errors{"@referenced_by": referencing},
	}
}

// InvalidPrimaryKey is Kong's answer to a primary key that does not
// validate, e.g. a key that is not a UUID for an entity without an
// endpoint key: invalid primary key: '{id="expected a valid UUID"}'.
func InvalidPrimaryKey(errs schema.Errors) *Error {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, fmt.Sprint(errs[k]))
	}
	return &Error{Code: CodeInvalidPrimaryKey,
		Message: fmt.Sprintf("invalid primary key: '{%s}'", strings.Join(parts, ",")), Fields: errs}
}

// InvalidOffset is returned for an offset the store did not hand out.
func InvalidOffset(offset string) *Error {
	return &Error{Code: CodeInvalidOffset, Message: fmt.Sprintf("'%s' is not a valid offset: bad base64 encoding", offset)}
}

// InvalidSize is returned for a page size out of range.
func InvalidSize(msg string) *Error {
	return &Error{Code: CodeInvalidSize, Message: msg}
}

// OperationUnsupported is returned for writes the store cannot take, such as
// any write in DB-less mode.
func OperationUnsupported(msg string) *Error {
	return &Error{Code: CodeOperationUnsupported, Message: msg}
}

// DatabaseError wraps an unexpected backend failure.
func DatabaseError(err error) *Error {
	return &Error{Code: CodeDatabaseError, Message: err.Error()}
}

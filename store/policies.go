package store

import (
	"errors"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/store/schema"
	"github.com/open-policy-agent/opa/v1/ast"
)

// The policies entity: one Rego module per policy, by unique name, that
// plugins name to replace their default decision (the acl plugin's
// config.policy). Served at /policies and read from kong.yml's
// `policies:`. A write whose Rego does not compile is a schema violation
// on the `rego` field naming line and column.

// ValidatorRego is the name of the validator of a policy's Rego source.
const ValidatorRego = "rego"

// regoCheck is the compile check SetRegoCheck installed.
var regoCheck atomic.Pointer[func(any) string]

// SetRegoCheck installs the check a policy's Rego must pass: it returns
// the error message (naming line and column) or "". The policy engine
// (runtime/policy) installs one that compiles the policy with the modules
// Gatehouse ships, exactly as a snapshot compiles it; until then a policy
// must parse as a Rego v1 module.
func SetRegoCheck(fn func(v any) string) { regoCheck.Store(&fn) }

func init() { schema.RegisterValidator(ValidatorRego, checkRego) }

// checkRego is the "rego" validator.
func checkRego(v any) string {
	if fn := regoCheck.Load(); fn != nil {
		return (*fn)(v)
	}
	src, _ := v.(string)
	if strings.TrimSpace(src) == "" {
		return "empty policy"
	}
	_, err := ast.ParseModuleWithOpts("policy.rego", src, ast.ParserOptions{RegoVersion: ast.RegoV1})
	var errs ast.Errors
	if err == nil {
		return ""
	}
	if !errors.As(err, &errs) || len(errs) == 0 {
		return err.Error()
	}
	e := errs[0]
	if e.Location == nil {
		return e.Code + ": " + e.Message
	}
	return "line " + strconv.Itoa(e.Location.Row) + ", column " + strconv.Itoa(max(e.Location.Col, 1)) + ": " + e.Code + ": " + e.Message
}

// Policies declares the policies entity.
func Policies() *Entity {
	return &Entity{
		Name: "policies", Path: "policies", EndpointKey: "name",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "name", Type: schema.String, Required: true, Unique: true, Validator: ValidatorUTF8Name},
				{Name: "rego", Type: schema.String, Required: true, LenMax: 256 << 10, Validator: ValidatorRego},
				createdAtField(), updatedAtField(),
				tagsField(),
			},
		},
	}
}

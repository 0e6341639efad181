// Package policy is Gatehouse's embedded OPA: Rego policies that decide
// access (the acl plugin today, threat protection rules later) and are
// fast enough to sit on every request.
//
// Policies come from two places: the modules shipped in the binary
// (rego/*.rego, package gatehouse.*) and the users' `policies` entity, one
// Rego module each. A user policy is compiled alone with the shipped
// modules, so policies cannot interfere with each other, and its write is
// refused with the compiler's line and column when it does not compile
// (Check, which the store runs on every write). A Compiler turns the
// policies of a configuration snapshot into a Set, reusing what it
// compiled for an earlier snapshot when a policy's source did not change;
// each policy's queries are prepared once there, never per request.
//
// Requests are decided by a Decider: it reads a request's Facts, keys its
// decision cache by exactly the facts the policy's Rego reads (found by
// walking the compiled rules, see Reads), and evaluates the prepared query
// only on a miss, with an input built directly as ast values. An
// evaluation that errors or outlives the policy timeout is an error: the
// caller fails closed.
package policy

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/store"
	"github.com/open-policy-agent/opa/v1/ast"
)

//go:embed rego/*.rego
var shippedFS embed.FS

// ShippedNamespace is the package prefix of the shipped modules; user
// policies may read its rules (data.gatehouse.acl.allow) but not declare
// packages under it.
const ShippedNamespace = "gatehouse"

// MaxSourceBytes bounds a policy's Rego source.
const MaxSourceBytes = 256 << 10

// maxReportedErrors bounds the compiler errors a refusal lists.
const maxReportedErrors = 5

// Entry is the rule a policy must define for the acl plugin: true allows
// the request; false or undefined denies it.
const Entry = "allow"

// denied are the built-ins policies may not call: they reach outside the
// gateway (network, the process environment) from the request path.
var denied = map[string]bool{
	"http.send": true, "net.lookup_ip_addr": true, "opa.runtime": true,
}

var (
	capsOnce sync.Once
	caps     *ast.Capabilities
)

// capabilities returns this OPA's capabilities without the denied built-ins.
func capabilities() *ast.Capabilities {
	capsOnce.Do(func() {
		c := ast.CapabilitiesForThisVersion()
		var kept []*ast.Builtin
		for _, b := range c.Builtins {
			if !denied[b.Name] {
				kept = append(kept, b)
			}
		}
		c.Builtins = kept
		caps = c
	})
	return caps
}

// shipped holds the parsed shipped modules, by file name.
var shipped = sync.OnceValues(func() (map[string]*ast.Module, error) {
	out := map[string]*ast.Module{}
	err := fs.WalkDir(shippedFS, "rego", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := shippedFS.ReadFile(p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(p, string(src), parserOptions())
		if err != nil {
			return fmt.Errorf("policy: shipped module %s: %w", p, err)
		}
		out[p] = m
		return nil
	})
	return out, err
})

// ShippedPolicies names the shipped policies ("acl" for rego/acl.rego),
// sorted.
func ShippedPolicies() []string {
	mods, _ := shipped()
	var out []string
	for p := range mods {
		out = append(out, strings.TrimSuffix(path.Base(p), ".rego"))
	}
	sort.Strings(out)
	return out
}

func parserOptions() ast.ParserOptions {
	return ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: capabilities()}
}

// Position is a place in a policy's source, 1-based.
type Position struct {
	Line, Column int
}

// CompileError is why a policy's Rego does not compile: the compiler's
// errors, each with its position.
type CompileError struct {
	// Policy names the policy ("" when unnamed).
	Policy string
	// Errors are the first errors the parser or compiler reported.
	Errors []PositionedError
	// More counts errors left out of Errors.
	More int
}

// PositionedError is one compiler error.
type PositionedError struct {
	Position
	// Code is OPA's error code (rego_parse_error, rego_compile_error,
	// rego_type_error, rego_unsafe_var_error, ...).
	Code    string
	Message string
}

// Error renders the errors as "line L, column C: code: message", joined
// with "; ".
func (e *CompileError) Error() string {
	var b strings.Builder
	for i, pe := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		if pe.Line > 0 {
			b.WriteString("line " + strconv.Itoa(pe.Line) + ", column " + strconv.Itoa(pe.Column) + ": ")
		}
		if pe.Code != "" {
			b.WriteString(pe.Code + ": ")
		}
		b.WriteString(pe.Message)
	}
	if e.More > 0 {
		b.WriteString("; and " + strconv.Itoa(e.More) + " more")
	}
	return b.String()
}

// compileError converts OPA's errors.
func compileError(name string, err error) *CompileError {
	out := &CompileError{Policy: name}
	var errs ast.Errors
	if !errors.As(err, &errs) {
		out.Errors = []PositionedError{{Message: err.Error()}}
		return out
	}
	for i, e := range errs {
		if i == maxReportedErrors {
			out.More = len(errs) - i
			break
		}
		pe := PositionedError{Code: e.Code, Message: e.Message}
		if e.Location != nil {
			// Columns are 1-based; OPA gives an error at the end of the
			// source column 0.
			pe.Line, pe.Column = e.Location.Row, max(e.Location.Col, 1)
		}
		out.Errors = append(out.Errors, pe)
	}
	return out
}

// userFile is the file name a user policy is compiled under.
func userFile(name string) string { return "policies/" + name + ".rego" }

// parseUser parses a user policy and checks its package.
func parseUser(name, src string) (*ast.Module, error) {
	if len(src) > MaxSourceBytes {
		return nil, &CompileError{Policy: name, Errors: []PositionedError{{
			Message: "policy is larger than " + strconv.Itoa(MaxSourceBytes) + " bytes"}}}
	}
	if strings.TrimSpace(src) == "" {
		return nil, &CompileError{Policy: name, Errors: []PositionedError{{Message: "empty policy"}}}
	}
	m, err := ast.ParseModuleWithOpts(userFile(name), src, parserOptions())
	if err != nil {
		return nil, compileError(name, err)
	}
	if m == nil {
		return nil, &CompileError{Policy: name, Errors: []PositionedError{{Message: "empty policy"}}}
	}
	if pkg := m.Package.Path; len(pkg) > 1 {
		if s, ok := pkg[1].Value.(ast.String); ok && string(s) == ShippedNamespace {
			pe := PositionedError{Code: ast.CompileErr, Message: "package " + pkg.String() +
				": the data." + ShippedNamespace + " namespace is reserved for the shipped policies"}
			if loc := m.Package.Location; loc != nil {
				pe.Line, pe.Column = loc.Row, loc.Col
			}
			return nil, &CompileError{Policy: name, Errors: []PositionedError{pe}}
		}
	}
	return m, nil
}

// compile compiles a user module (nil for the shipped modules alone) with
// the shipped modules.
func compile(name string, user *ast.Module) (*ast.Compiler, error) {
	mods, err := shipped()
	if err != nil {
		return nil, err
	}
	all := make(map[string]*ast.Module, len(mods)+1)
	for k, v := range mods {
		all[k] = v
	}
	if user != nil {
		all[userFile(name)] = user
	}
	c := ast.NewCompiler().WithCapabilities(capabilities()).WithEnablePrintStatements(false)
	c.Compile(all)
	if c.Failed() {
		return nil, compileError(name, c.Errors)
	}
	return c, nil
}

// Check compiles a user policy as a snapshot would: nil when it compiles,
// a *CompileError naming line and column otherwise.
func Check(name, src string) error {
	m, err := parseUser(name, src)
	if err != nil {
		return err
	}
	_, err = compile(name, m)
	return err
}

// checkField is the store's "rego" validator.
func checkField(v any) string {
	src, ok := v.(string)
	if !ok {
		return "expected a string"
	}
	if err := Check("", src); err != nil {
		return err.Error()
	}
	return ""
}

func init() {
	// The store refuses a policy write whose Rego does not compile with the
	// shipped modules, as the snapshot will compile it.
	store.SetRegoCheck(checkField)
}

package schema

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ValidatorKey is the Gatehouse extension key under which a named custom
// validator is rendered and loaded: on a field, `"x_gatehouse_validator":
// "<name>"` runs the field validator registered under that name (Kong's
// `custom_validator`, which Kong does not render); as an entity check,
// `{"x_gatehouse_validator": "<name>"}` runs the record validator registered
// under that name. Kong ignores keys it does not know, and Gatehouse refuses
// a name nobody registered when it loads a schema.
const ValidatorKey = "x_gatehouse_validator"

// MatchMessageKey is the Gatehouse extension key of Field.MatchMessage.
const MatchMessageKey = "x_gatehouse_match_message"

var (
	validatorsMu     sync.RWMutex
	fieldValidators  = map[string]func(any) string{}
	recordValidators = map[string]func(map[string]any) []string{}
)

// RegisterValidator registers a field validator under name, so that a field
// whose Validator is name runs fn after the built-in constraints. fn returns
// the error message or "". Registering a name twice panics: it is a build
// mistake, caught at start-up.
func RegisterValidator(name string, fn func(v any) string) {
	validatorsMu.Lock()
	defer validatorsMu.Unlock()
	if _, dup := fieldValidators[name]; dup || name == "" || fn == nil {
		panic(fmt.Sprintf("schema: field validator %q registered twice or empty", name))
	}
	fieldValidators[name] = fn
}

// RegisterRecordValidator registers a record validator under name, for
// entity checks of the form EntityCheck{Validator: name}. fn returns the
// messages to report under "@entity", or nil; it must tolerate invalid
// field values. Registering a name twice panics.
func RegisterRecordValidator(name string, fn func(rec map[string]any) []string) {
	validatorsMu.Lock()
	defer validatorsMu.Unlock()
	if _, dup := recordValidators[name]; dup || name == "" || fn == nil {
		panic(fmt.Sprintf("schema: record validator %q registered twice or empty", name))
	}
	recordValidators[name] = fn
}

// LookupValidator returns the field validator registered under name.
func LookupValidator(name string) (func(any) string, bool) {
	validatorsMu.RLock()
	defer validatorsMu.RUnlock()
	fn, ok := fieldValidators[name]
	return fn, ok
}

// LookupRecordValidator returns the record validator registered under name.
func LookupRecordValidator(name string) (func(map[string]any) []string, bool) {
	validatorsMu.RLock()
	defer validatorsMu.RUnlock()
	fn, ok := recordValidators[name]
	return fn, ok
}

// Validators returns the names of the registered field and record
// validators, sorted.
func Validators() (field, record []string) {
	validatorsMu.RLock()
	defer validatorsMu.RUnlock()
	for n := range fieldValidators {
		field = append(field, n)
	}
	for n := range recordValidators {
		record = append(record, n)
	}
	sort.Strings(field)
	sort.Strings(record)
	return field, record
}

// EntityCheck is one of Kong's entity checks, as data. Exactly one of its
// members is set. Field names are dotted paths into the record ("redis.host");
// in a plugin's config schema they are written from the plugin entity, as
// Kong writes them ("config.second"), and resolved inside the config record.
type EntityCheck struct {
	// AtLeastOneOf: at least one of the fields is non-empty (not null, "",
	// [] or {}).
	AtLeastOneOf []string
	// OnlyOneOf: exactly one of the fields is non-empty.
	OnlyOneOf []string
	// MutuallyExclusive: at most one of the fields is set.
	MutuallyExclusive []string
	// MutuallyRequired: all or none of the fields are set.
	MutuallyRequired []string
	// Distinct: the non-empty fields hold different values.
	Distinct []string
	// Conditional: when IfField is set and matches IfMatch, ThenField must
	// match ThenMatch. A failure reports "failed conditional validation given
	// value of field '<IfField>'" under "@entity" and, when Validate runs the
	// check, ThenMatch's message on ThenField (nested for a dotted path), as
	// Kong does (the function AddEntityChecks puts in Checks reports the first
	// only).
	Conditional *ConditionalCheck
	// ConditionalAtLeastOneOf: when IfField is set and matches IfMatch, at
	// least one of ThenAtLeastOneOf is non-empty; when it does not and
	// matches ElseMatch, at least one of ElseThenAtLeastOneOf.
	ConditionalAtLeastOneOf *ConditionalAtLeastOneOf
	// Validator names a record validator registered with
	// RegisterRecordValidator. A failing validator ends the record's checks:
	// the checks after it do not run.
	Validator string
}

// ConditionalCheck is Kong's `conditional` entity check.
type ConditionalCheck struct {
	// ThenErr, when set, replaces the record-level message; "%s" in it
	// stands for IfField (Kong's then_err).
	ThenErr string
	IfField string
	// IfMatch and ThenMatch are constraint-only fields (no Name, no Type):
	// eq, one_of, not_one_of, required, between, gt, len_min, len_max,
	// starts_with, match and named validators apply.
	IfMatch   *Field
	ThenField string
	ThenMatch *Field
}

// ConditionalAtLeastOneOf is Kong's `conditional_at_least_one_of` check.
type ConditionalAtLeastOneOf struct {
	// ThenErr and ElseThenErr, when set, replace the messages; "%s" in them
	// stands for the quoted field list (Kong's then_err, else_then_err).
	ThenErr, ElseThenErr string
	IfField              string
	IfMatch              *Field
	ThenAtLeastOneOf     []string
	ElseMatch            *Field
	ElseThenAtLeastOneOf []string
}

// AddEntityChecks appends checks to s: they are kept as data in
// s.EntityChecks (rendered under "entity_checks") and run, through one
// function appended to s.Checks, by Validate and by every caller that runs
// s.Checks. root is the prefix the check's paths carry and the record does
// not ("config" for a plugin's config schema, "" otherwise). It returns s.
func (s *Schema) AddEntityChecks(root string, checks ...EntityCheck) *Schema {
	if len(checks) == 0 {
		return s
	}
	if s.compiledChecks {
		// Replace the function built earlier, which sees the old list.
		s.Checks = append(s.Checks[:0:0], s.Checks[1:]...)
	}
	s.EntityChecks = append(s.EntityChecks, checks...)
	s.CheckRoot = root
	list := append([]EntityCheck(nil), s.EntityChecks...)
	s.Checks = append([]func(map[string]any) []string{func(rec map[string]any) []string {
		return RunEntityChecks(root, list, rec)
	}}, s.Checks...)
	s.compiledChecks = true
	return s
}

// RunEntityChecks runs checks on rec and returns their messages, each once,
// in order. Checks naming a field that holds an invalid value still run:
// Validate runs record checks only when every field is valid.
func RunEntityChecks(root string, checks []EntityCheck, rec map[string]any) []string {
	return runEntityChecks(root, checks, rec, nil)
}

// runEntityChecks is RunEntityChecks; fieldErr, when not nil, also receives
// the message of a failed conditional's then-field, as Kong reports it on
// that field (path relative to the record).
func runEntityChecks(root string, checks []EntityCheck, rec map[string]any, fieldErr func(path, msg string)) []string {
	var msgs []string
	seen := map[string]bool{}
	add := func(m string) {
		if !seen[m] {
			seen[m] = true
			msgs = append(msgs, m)
		}
	}
	get := func(path string) any { return lookupPath(root, rec, path) }
	for _, c := range checks {
		switch {
		case c.AtLeastOneOf != nil:
			if countNonEmpty(get, c.AtLeastOneOf) == 0 {
				add("at least one of these fields must be non-empty: " + quoteList(c.AtLeastOneOf))
			}
		case c.OnlyOneOf != nil:
			if countNonEmpty(get, c.OnlyOneOf) != 1 {
				add("only one of these fields must be non-empty: " + quoteList(c.OnlyOneOf))
			}
		case c.MutuallyExclusive != nil:
			if countSet(get, c.MutuallyExclusive) > 1 {
				add("only one or none of these fields must be set: " + quoteList(c.MutuallyExclusive))
			}
		case c.MutuallyRequired != nil:
			if n := countSet(get, c.MutuallyRequired); n != 0 && n != len(c.MutuallyRequired) {
				add("all or none of these fields must be set: " + quoteList(c.MutuallyRequired))
			}
		case c.Distinct != nil:
			vals := map[string]bool{}
			for _, p := range c.Distinct {
				v := get(p)
				if !nonEmpty(v) {
					continue
				}
				k := fmt.Sprintf("%T:%v", v, v)
				if vals[k] {
					add("values of these fields must be distinct: " + quoteList(c.Distinct))
					break
				}
				vals[k] = true
			}
		case c.Conditional != nil:
			k := c.Conditional
			if iv := get(k.IfField); iv != nil && matchConstraint(k.IfMatch, iv) == "" {
				if msg := matchConstraint(k.ThenMatch, get(k.ThenField)); msg != "" {
					if fieldErr != nil {
						fieldErr(strings.TrimPrefix(k.ThenField, root+"."), msg)
					}
					if k.ThenErr != "" {
						add(fmt.Sprintf(k.ThenErr, k.IfField))
					} else {
						add("failed conditional validation given value of field '" + k.IfField + "'")
					}
				}
			}
		case c.ConditionalAtLeastOneOf != nil:
			k := c.ConditionalAtLeastOneOf
			iv := get(k.IfField)
			if iv == nil {
				continue
			}
			if matchConstraint(k.IfMatch, iv) == "" {
				if countNonEmpty(get, k.ThenAtLeastOneOf) == 0 {
					add(listMessage(k.ThenErr, k.ThenAtLeastOneOf))
				}
			} else if k.ElseMatch != nil && matchConstraint(k.ElseMatch, iv) == "" {
				if countNonEmpty(get, k.ElseThenAtLeastOneOf) == 0 {
					add(listMessage(k.ElseThenErr, k.ElseThenAtLeastOneOf))
				}
			}
		case c.Validator != "":
			fn, ok := LookupRecordValidator(c.Validator)
			if !ok {
				add("unknown validator '" + c.Validator + "'")
				return msgs
			}
			if out := fn(rec); len(out) > 0 {
				for _, m := range out {
					add(m)
				}
				return msgs
			}
		}
	}
	return msgs
}

// lookupPath resolves a dotted path in rec, after the root prefix.
func lookupPath(root string, rec map[string]any, path string) any {
	if root != "" {
		path = strings.TrimPrefix(path, root+".")
	}
	var cur any = rec
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// nonEmpty is Kong's is_nonempty: not null, not "", not an empty array
// or record.
func nonEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return true
}

func countNonEmpty(get func(string) any, paths []string) int {
	n := 0
	for _, p := range paths {
		if nonEmpty(get(p)) {
			n++
		}
	}
	return n
}

// listMessage formats a conditional_at_least_one_of failure: the custom
// message (a format with one %s, the quoted list) or Kong's.
func listMessage(custom string, fields []string) string {
	if custom != "" {
		return fmt.Sprintf(custom, quoteList(fields))
	}
	return "at least one of these fields must be non-empty: " + quoteList(fields)
}

func countSet(get func(string) any, paths []string) int {
	n := 0
	for _, p := range paths {
		if get(p) != nil {
			n++
		}
	}
	return n
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = "'" + s + "'"
	}
	return strings.Join(q, ", ")
}

// matchConstraint checks v against a constraint-only field, as the
// if_match/then_match of Kong's conditional checks do: null passes every
// constraint except required. It returns the message or "".
func matchConstraint(c *Field, v any) string {
	if c == nil {
		return ""
	}
	if v == nil {
		if c.Required {
			return "required field missing"
		}
		return ""
	}
	if c.Null {
		return "value must be null"
	}
	if c.Eq != nil && !equalScalar(c.Eq, v) {
		return fmt.Sprintf("value must be %v", c.Eq)
	}
	if c.Contains != nil {
		list, _ := v.([]any)
		if !slices.ContainsFunc(list, func(e any) bool { return equalScalar(c.Contains, e) }) {
			return fmt.Sprintf("expected to contain: %v", c.Contains)
		}
	}
	return checkConstraints(c, v)
}

// checkConstraints applies the type-independent constraints of f to v:
// one_of, not_one_of, between, gt, len_min/len_max and starts_with, match,
// and the named or Go validator.
func checkConstraints(f *Field, v any) string {
	if msg := checkScalar(f, v); msg != "" {
		return msg
	}
	if s, ok := v.(string); ok {
		n := len([]rune(s))
		if f.LenMin > 0 && n < f.LenMin {
			return fmt.Sprintf("length must be at least %d", f.LenMin)
		}
		if f.LenMax > 0 && n > f.LenMax {
			return fmt.Sprintf("length must be at most %d", f.LenMax)
		}
		if f.StartsWith != "" && !strings.HasPrefix(s, f.StartsWith) {
			return "should start with: " + f.StartsWith
		}
		if msg := checkMatch(f, s); msg != "" {
			return msg
		}
		if f.IsRegex {
			if _, err := regexp.Compile(s); err != nil {
				return "not a valid regex: " + s
			}
		}
	}
	return runValidators(f, v)
}

// runValidators runs f's named validator, then its Go validator.
func runValidators(f *Field, v any) string {
	if f.Validator != "" {
		fn, ok := LookupValidator(f.Validator)
		if !ok {
			return "unknown validator '" + f.Validator + "'"
		}
		if msg := fn(v); msg != "" {
			return msg
		}
	}
	if f.Check != nil {
		return f.Check(v)
	}
	return ""
}

// patterns caches the compiled form of Lua patterns (Field.Pattern).
var patterns sync.Map // string -> *regexp.Regexp or error

// compilePattern returns the RE2 form of a Lua pattern, compiled once.
func compilePattern(p string) (*regexp.Regexp, error) {
	if v, ok := patterns.Load(p); ok {
		if re, ok := v.(*regexp.Regexp); ok {
			return re, nil
		}
		return nil, v.(error)
	}
	src, err := LuaPatternToRE2(p)
	var re *regexp.Regexp
	if err == nil {
		re, err = regexp.Compile(src)
	}
	if err != nil {
		err = fmt.Errorf("invalid pattern %q: %v", p, err)
		patterns.Store(p, err)
		return nil, err
	}
	patterns.Store(p, re)
	return re, nil
}

// checkMatch applies Pattern and Match to a string.
func checkMatch(f *Field, s string) string {
	fail := func() string {
		if f.MatchMessage != "" {
			return f.MatchMessage
		}
		return "invalid value: " + s
	}
	matches := func(p string) (bool, string) {
		re, err := compilePattern(p)
		if err != nil {
			return false, err.Error()
		}
		return re.MatchString(s), ""
	}
	orInvalid := func(msg string) string {
		if msg == "" {
			return "invalid value: " + s
		}
		return msg
	}
	if f.NotMatch != "" {
		if ok, bad := matches(f.NotMatch); bad != "" || ok {
			return orInvalid(bad)
		}
	}
	for _, r := range f.MatchNone {
		if ok, bad := matches(r.Pattern); bad != "" || ok {
			return orInvalid(bad + r.Err)
		}
	}
	if f.Pattern != "" {
		ok, bad := matches(f.Pattern)
		if bad != "" {
			return bad
		}
		if !ok {
			return fail()
		}
	}
	if f.Match != nil && !f.Match.MatchString(s) {
		return fail()
	}
	for _, r := range f.MatchAll {
		if ok, bad := matches(r.Pattern); bad != "" || !ok {
			return orInvalid(bad + r.Err)
		}
	}
	if f.MatchAny != nil {
		for _, p := range f.MatchAny.Patterns {
			if ok, _ := matches(p); ok {
				return ""
			}
		}
		return orInvalid(f.MatchAny.Err)
	}
	return ""
}

// GoOnly lists the parts of s that exist only as Go code and so neither
// render nor load back: Field.Check and Field.Match, Conditionals, and
// Checks not added through AddEntityChecks. Each entry is "<path>: <what>".
// A schema for which GoOnly is empty survives Render and FromJSON whole.
func GoOnly(s *Schema) []string {
	var out []string
	n := len(s.Checks)
	if s.compiledChecks {
		n--
	}
	if n > 0 {
		out = append(out, fmt.Sprintf("@entity: %d Go check(s)", n))
	}
	for _, c := range s.Conditionals {
		out = append(out, "@entity: Go conditional on "+c.If+" -> "+c.Then)
	}
	for _, f := range s.Fields {
		goOnlyField(f, f.Name, &out)
	}
	return out
}

func goOnlyField(f *Field, path string, out *[]string) {
	if f == nil {
		return
	}
	if f.Check != nil {
		*out = append(*out, path+": Go validator")
	}
	if f.Match != nil {
		*out = append(*out, path+": Go regular expression")
	}
	goOnlyField(f.Elements, path+".elements", out)
	goOnlyField(f.Keys, path+".keys", out)
	goOnlyField(f.Values, path+".values", out)
	for _, sub := range f.Fields {
		goOnlyField(sub, path+"."+sub.Name, out)
	}
}

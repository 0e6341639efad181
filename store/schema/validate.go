package schema

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// FillDefaults sets every field that m lacks to its default (nil when it has
// none), recursing into records so that a partly given record gets the
// defaults of the sub-fields it left out. It changes m in place.
func FillDefaults(rec *Schema, m map[string]any) {
	for _, f := range rec.Fields {
		v, present := m[f.Name]
		if !present {
			switch {
			case f.Default != nil:
				m[f.Name] = Clone(f.Default)
				if sub, ok := m[f.Name].(map[string]any); ok && f.Type == Record {
					// Kong completes a record's default from its fields.
					FillDefaults(&Schema{Fields: f.Fields}, sub)
				}
			case f.Type == Record && !nullableRecord(f):
				sub := map[string]any{}
				FillDefaults(&Schema{Fields: f.Fields}, sub)
				m[f.Name] = sub
			default:
				m[f.Name] = nil
			}
			continue
		}
		if f.Type == Record {
			if sub, ok := v.(map[string]any); ok {
				FillDefaults(&Schema{Fields: f.Fields}, sub)
			}
		}
	}
}

// nullableRecord reports whether a record field without a default stays null
// when left out (Kong fills records that are required or whose sub-fields have
// defaults).
func nullableRecord(f *Field) bool {
	return !f.Required && f.Default == nil && !hasDefaults(f.Fields)
}

func hasDefaults(fields []*Field) bool {
	for _, f := range fields {
		if f.Default != nil || f.Required {
			return true
		}
		if f.Type == Record && hasDefaults(f.Fields) {
			return true
		}
	}
	return false
}

// Merge applies a partial update to a full record: fields in patch replace
// those in base, except records, which merge field by field as Kong's PATCH
// does. base is not modified.
func Merge(rec *Schema, base, patch map[string]any) map[string]any {
	out := Clone(base).(map[string]any)
	for k, v := range patch {
		f := rec.Field(k)
		if f != nil && f.Type == Record {
			pm, pok := v.(map[string]any)
			bm, bok := out[k].(map[string]any)
			if pok && bok {
				out[k] = Merge(&Schema{Fields: f.Fields}, bm, pm)
				continue
			}
		}
		out[k] = Clone(v)
	}
	return out
}

// Validate checks a complete, coerced record against rec and returns the
// errors found (empty when valid). Record checks run only when every field
// is valid.
func Validate(rec *Schema, m map[string]any) Errors {
	errs := Errors{}
	for _, f := range rec.Fields {
		if fe := validateValue(f, m[f.Name]); fe != nil {
			errs[f.Name] = fe
		}
	}
	for k := range m {
		if rec.Field(k) == nil {
			errs.Add(k, "unknown field")
		}
	}
	for _, c := range rec.Conditionals {
		if _, bad := errs[c.If]; bad || !c.When(m[c.If]) {
			continue
		}
		if msg := c.Check(m[c.Then]); msg != "" {
			if _, bad := errs[c.Then]; !bad {
				errs[c.Then] = msg
			}
			if !c.Quiet {
				errs.AddEntity("failed conditional validation given value of field '" + c.If + "'")
			}
		}
	}
	checks := rec.Checks
	if rec.compiledChecks {
		// Run the data checks here, with their field-level messages;
		// Checks[0] is their string-only form for callers of Checks.
		checks = checks[1:]
		fieldErr := func(path, msg string) {
			// Nested paths ("redis.host") nest, as Kong's set_field does,
			// unless an error is already reported higher up.
			parts := strings.Split(path, ".")
			cur := errs
			for _, p := range parts[:len(parts)-1] {
				switch sub := cur[p].(type) {
				case nil:
					next := Errors{}
					cur[p] = next
					cur = next
				case Errors:
					cur = sub
				default:
					return
				}
			}
			cur.Add(parts[len(parts)-1], msg)
		}
		for _, msg := range runEntityChecks(rec.CheckRoot, rec.EntityChecks, m, fieldErr) {
			errs.AddEntity(msg)
		}
	}
	for _, check := range checks {
		for _, msg := range check(m) {
			errs.AddEntity(msg)
		}
	}
	return errs
}

func validateValue(f *Field, v any) any {
	if v == nil {
		if f.Required {
			return "required field missing"
		}
		return nil
	}
	switch f.Type {
	case String:
		s, ok := v.(string)
		if !ok {
			return "expected a string"
		}
		if msg := CheckText(s); msg != "" {
			return msg
		}
		if len(f.OneOf) > 0 {
			if msg := checkScalar(f, v); msg != "" {
				return msg
			}
		}
		if f.UUID {
			if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
				return "expected a valid UUID"
			}
		}
		// Kong: strings are never empty unless len_min says so, and
		// lengths count UTF-8 characters. An auto field is generated when
		// left out, not when given empty.
		minLen := f.LenMin
		if minLen == 0 {
			minLen = 1
		}
		n := utf8.RuneCountInString(s)
		if n < minLen {
			return fmt.Sprintf("length must be at least %d", minLen)
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
	case Integer:
		if _, ok := v.(int64); !ok {
			return "expected an integer"
		}
	case Number:
		if n, ok := v.(float64); !ok || math.IsNaN(n) || math.IsInf(n, 0) {
			return "expected a number"
		}
	case Boolean:
		if _, ok := v.(bool); !ok {
			return "expected a boolean"
		}
	case Array, Set:
		list, ok := v.([]any)
		if !ok {
			return "expected " + article(f.Type)
		}
		if f.LenMin > 0 && len(list) < f.LenMin {
			return fmt.Sprintf("length must be at least %d", f.LenMin)
		}
		if f.LenMax > 0 && len(list) > f.LenMax {
			return fmt.Sprintf("length must be at most %d", f.LenMax)
		}
		if f.Elements == nil {
			if msg := checkTree(v); msg != "" {
				return msg
			}
		}
		if f.Elements != nil {
			var elemErrs []any
			for i, e := range list {
				fe := validateValue(f.Elements, e)
				if e == nil {
					fe = "required field missing"
				}
				if fe != nil {
					if elemErrs == nil {
						elemErrs = make([]any, len(list))
					}
					elemErrs[i] = fe
				}
			}
			if elemErrs != nil {
				return elemErrs
			}
		}
	case Map:
		m, ok := v.(map[string]any)
		if !ok {
			return "expected a map"
		}
		errs := Errors{}
		for _, k := range sortedKeys(m) {
			e := m[k]
			if msg := CheckText(k); msg != "" {
				return msg
			}
			if f.Values == nil {
				if msg := checkTree(e); msg != "" {
					errs[k] = msg
					continue
				}
			}
			if f.Keys != nil {
				if fe := validateValue(f.Keys, k); fe != nil {
					return fe
				}
			}
			if e == nil {
				return "required field missing"
			}
			if f.Values != nil {
				if fe := validateValue(f.Values, e); fe != nil {
					errs[k] = fe
				}
			}
		}
		if !errs.Empty() {
			return errs
		}
	case Record:
		m, ok := v.(map[string]any)
		if !ok {
			return "expected a record"
		}
		if errs := Validate(&Schema{Fields: f.Fields}, m); !errs.Empty() {
			return errs
		}
		if msgs := RunEntityChecks("", f.EntityChecks, m); len(msgs) > 0 {
			return strings.Join(msgs, "; ")
		}
	case JSON:
		if msg := checkTree(v); msg != "" {
			return msg
		}
	case Foreign:
		m, ok := v.(map[string]any)
		if !ok {
			return "expected a record"
		}
		id, _ := m["id"].(string)
		if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
			return Errors{"id": "expected a valid UUID"}
		}
	}
	if msg := checkScalar(f, v); msg != "" {
		return msg
	}
	if msg := runValidators(f, v); msg != "" {
		return msg
	}
	return nil
}

// CheckText refuses what no stored string may hold, on any backend: invalid
// UTF-8 (Kong's message for names and tags) and NUL characters, which
// Postgres cannot store in text. It returns the message or "".
func CheckText(s string) string {
	if !utf8.ValidString(s) {
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				return fmt.Sprintf("invalid utf-8 character sequence detected at position %d", i+1)
			}
			i += size
		}
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Sprintf("invalid NUL character detected at position %d", i+1)
	}
	return ""
}

// checkTree applies CheckText to every string and map key of a value tree
// that has no declared element types (json fields, untyped arrays and maps).
func checkTree(v any) string {
	switch t := v.(type) {
	case string:
		return CheckText(t)
	case []any:
		for _, e := range t {
			if msg := checkTree(e); msg != "" {
				return msg
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(t) {
			if msg := CheckText(k); msg != "" {
				return msg
			}
			if msg := checkTree(t[k]); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// checkScalar applies eq, one_of, not_one_of, between and gt.
func checkScalar(f *Field, v any) string {
	if f.Null && v != nil {
		return "value must be null"
	}
	if f.Eq != nil && !equalScalar(f.Eq, v) {
		return "value must be " + fmt.Sprint(f.Eq)
	}
	for _, o := range f.NotOneOf {
		if equalScalar(o, v) {
			parts := make([]string, len(f.NotOneOf))
			for i, o := range f.NotOneOf {
				parts[i] = fmt.Sprint(o)
			}
			return "must not be one of: " + strings.Join(parts, ", ")
		}
	}
	if len(f.OneOf) > 0 {
		for _, o := range f.OneOf {
			if equalScalar(o, v) {
				goto numeric
			}
		}
		parts := make([]string, len(f.OneOf))
		for i, o := range f.OneOf {
			parts[i] = fmt.Sprint(o)
		}
		return "expected one of: " + strings.Join(parts, ", ")
	}
numeric:
	var n float64
	switch t := v.(type) {
	case int64:
		n = float64(t)
	case float64:
		n = t
	default:
		return ""
	}
	if f.Between != nil && (n < f.Between[0] || n > f.Between[1]) {
		return fmt.Sprintf("value should be between %s and %s", fmtNum(f.Between[0]), fmtNum(f.Between[1]))
	}
	if f.Gt != nil && n <= *f.Gt {
		return fmt.Sprintf("value must be greater than %s", fmtNum(*f.Gt))
	}
	return ""
}

func equalScalar(a, b any) bool {
	switch x := a.(type) {
	case int:
		switch y := b.(type) {
		case int64:
			return int64(x) == y
		case float64:
			return float64(x) == y
		}
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y
		case float64:
			return float64(x) == y
		}
	case float64:
		if y, ok := b.(int64); ok {
			return x == float64(y)
		}
	}
	return a == b
}

func fmtNum(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// DedupeSets removes repeated elements from every set field of m, keeping the
// first occurrence, as Kong does when it stores a set.
func DedupeSets(rec *Schema, m map[string]any) {
	for _, f := range rec.Fields {
		switch f.Type {
		case Set:
			list, ok := m[f.Name].([]any)
			if !ok {
				continue
			}
			seen := map[string]bool{}
			out := make([]any, 0, len(list))
			for _, e := range list {
				k := fmt.Sprintf("%T:%v", e, e)
				if !seen[k] {
					seen[k] = true
					out = append(out, e)
				}
			}
			m[f.Name] = out
		case Record:
			if sub, ok := m[f.Name].(map[string]any); ok {
				DedupeSets(&Schema{Fields: f.Fields}, sub)
			}
		}
	}
}

// Clone deep-copies a value tree.
func Clone(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = Clone(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = Clone(e)
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out
	case []int:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = int64(e)
		}
		return out
	case int:
		return int64(t)
	}
	return v
}

func sortStrings(s []string) { sort.Strings(s) }

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

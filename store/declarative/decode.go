package declarative

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// decode reads a YAML or JSON document into plain Go values: nil, bool,
// int64, float64, string, []any and map[string]any. JSON is tried first for
// a document that looks like a JSON object, as Kong tries cjson first; YAML,
// a superset of JSON, reads the rest.
func decode(data []byte) (any, error) {
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil {
			if _, err := dec.Token(); err == io.EOF {
				return normalize(v)
			}
		}
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return normalize(v)
}

var errNonFinite = errors.New("infinite and NaN numbers are not supported")

// normalize converts decoded values to the types the store's schemas coerce.
func normalize(v any) (any, error) {
	switch t := v.(type) {
	case nil, bool, string, int64:
		return t, nil
	case int:
		return int64(t), nil
	case uint64:
		return float64(t), nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, errNonFinite
		}
		return t, nil
	case json.Number:
		if n, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return n, nil
		}
		f, err := t.Float64()
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("invalid number %s", t)
		}
		return f, nil
	case []byte:
		return string(t), nil
	case time.Time:
		return t.Format(time.RFC3339Nano), nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			key, ok := k.(string)
			if !ok {
				key = fmt.Sprint(k)
			}
			if _, dup := out[key]; dup {
				return nil, fmt.Errorf("mapping key %q defined twice", key)
			}
			out[key] = n
		}
		return out, nil
	}
	return fmt.Sprint(v), nil
}

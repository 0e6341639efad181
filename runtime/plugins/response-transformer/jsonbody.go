package responsetransformer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/gatehouse/gatehouse/runtime/plugins/pluginkit"
)

// errNotJSON is Kong's "failed parsing json body".
var errNotJSON = errors.New("failed parsing json body")

// TransformJSON applies the json rules to a response body, as Kong's
// transform_json_body does, in the order remove, rename, replace, add,
// append. Members follow Lua's truthiness: a false member counts as absent
// for replace and add, null as present. A JSON array passes through
// re-encoded (its members cannot be named); anything that is not an
// object or an array is an error and the body is left alone. Numbers keep
// the digits received; keys come out sorted.
func (p *Plugin) TransformJSON(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, errNotJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotJSON // trailing data
	}
	switch d := doc.(type) {
	case []any:
		return encode(d)
	case map[string]any:
		p.transformObject(d)
		return encode(d)
	}
	return nil, errNotJSON
}

func (p *Plugin) transformObject(obj map[string]any) {
	for _, e := range p.remove.json {
		delete(obj, e.name)
	}
	for _, e := range p.rename.json {
		if v, ok := obj[e.name]; ok && e.hasValue {
			delete(obj, e.name)
			obj[e.value] = v
		}
	}
	for _, e := range p.replace.json {
		v, ok := value(e)
		if ok && pluginkit.LuaTruthy(obj, e.name) {
			obj[e.name] = v
		}
	}
	for _, e := range p.add.json {
		v, ok := value(e)
		if ok && !pluginkit.LuaTruthy(obj, e.name) {
			obj[e.name] = v
		}
	}
	for _, e := range p.append.json {
		v, ok := value(e)
		if !ok {
			continue
		}
		switch cur := obj[e.name].(type) {
		case string:
			obj[e.name] = []any{cur, v}
		case []any:
			obj[e.name] = append(cur, v)
		case map[string]any:
			// Lua's table.insert on a table without array items sets [1],
			// which cjson writes as the member "1".
			cur["1"] = v
		default:
			obj[e.name] = []any{v}
		}
	}
}

// value is the entry's value for the body; entries without a value do
// nothing (Kong's nil).
func value(e entry) (any, bool) {
	if !e.hasValue {
		return nil, false
	}
	return castValue(e)
}

func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

package pluginkit

import "github.com/gatehouse/gatehouse/hostabi"

// bodyKey holds the chunks GatherBody has seen, in the calling plugin's
// per-request context.
const bodyKey = "pluginkit.body"

// GatherBody collects a response body over body_filter calls, as Kong's
// kong.response.get_raw_body does: it returns the whole body and true on
// the last chunk (eof), and nil and false before, keeping what came so far
// in the plugin's context (kong.ctx.plugin). A host that passes the body
// whole in one call costs no copy.
func GatherBody(k hostabi.Kong, chunk []byte, eof bool) ([]byte, bool) {
	values := k.Ctx().Plugin()
	prev, had := values.Get(bodyKey)
	if !had && eof {
		return chunk, true
	}
	var body []byte
	if had {
		body = append(prev.([]byte), chunk...)
	} else {
		body = append([]byte(nil), chunk...)
	}
	if !eof {
		values.Set(bodyKey, body)
		return nil, false
	}
	values.Delete(bodyKey)
	return body, true
}

// LuaTruthy reports Lua's truthiness of obj[name] for a decoded JSON
// object, as Kong's plugins test members: absent and false are false,
// anything else (null, which cjson decodes to a truthy sentinel,
// included) is true.
func LuaTruthy(obj map[string]any, name string) bool {
	v, ok := obj[name]
	if !ok {
		return false
	}
	b, isBool := v.(bool)
	return !isBool || b
}

package hostabi

import (
	"encoding/json"
	"net/url"
)

// EncodeBody encodes ServiceRequest.SetBody's arguments the way every host
// must: form-urlencoded (arrays become repeated keys, other values their
// JSON text) when mimeType is "application/x-www-form-urlencoded", JSON for
// anything else. It returns the body and the media type to send.
func EncodeBody(args map[string]any, mimeType string) ([]byte, string, error) {
	if mimeType == "application/x-www-form-urlencoded" {
		v := url.Values{}
		for key, a := range args {
			if list, ok := a.([]any); ok {
				for _, e := range list {
					v.Add(key, formValue(e))
				}
				continue
			}
			v.Set(key, formValue(a))
		}
		return []byte(v.Encode()), mimeType, nil
	}
	b, err := json.Marshal(args)
	return b, "application/json", err
}

func formValue(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

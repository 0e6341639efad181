package store

import (
	"encoding/json"
	"fmt"
)

// DeveloperMetaField is one entry of a workspace's
// config.portal_developer_meta_fields: a field developers give at
// registration, kept in their meta.
type DeveloperMetaField struct {
	Label     string `json:"label"`
	Title     string `json:"title"`
	Validator struct {
		Required bool   `json:"required"`
		Type     string `json:"type"`
	} `json:"validator"`
}

// CheckDeveloperMeta checks a registering developer's meta (a JSON object
// string, "" for none) against fieldsJSON, the workspace's
// portal_developer_meta_fields: every required field is present and not
// empty, and a field typed "string" holds a string. Malformed fieldsJSON
// is an error of the configuration, reported as such.
func CheckDeveloperMeta(meta, fieldsJSON string) error {
	if fieldsJSON == "" {
		return nil
	}
	var fields []DeveloperMetaField
	if err := json.Unmarshal([]byte(fieldsJSON), &fields); err != nil {
		return fmt.Errorf("config.portal_developer_meta_fields is not a JSON list of fields: %w", err)
	}
	values := map[string]any{}
	if meta != "" {
		if err := json.Unmarshal([]byte(meta), &values); err != nil || values == nil {
			return fmt.Errorf("meta must be a JSON object")
		}
	}
	for _, f := range fields {
		if f.Title == "" {
			continue
		}
		v, ok := values[f.Title]
		if !ok || v == nil || v == "" {
			if f.Validator.Required {
				return fmt.Errorf("%s is required", f.Title)
			}
			continue
		}
		if f.Validator.Type == "string" {
			if _, ok := v.(string); !ok {
				return fmt.Errorf("%s must be a string", f.Title)
			}
		}
	}
	return nil
}

package store

import (
	"strings"
	"testing"
)

func TestCheckDeveloperMeta(t *testing.T) {
	tests := []struct {
		name, meta, fields, err string
	}{
		{"default fields, full name", `{"full_name":"Ada"}`, DefaultDeveloperMetaFields, ""},
		{"default fields, none", "", DefaultDeveloperMetaFields, "full_name is required"},
		{"default fields, empty", `{"full_name":""}`, DefaultDeveloperMetaFields, "full_name is required"},
		{"default fields, number", `{"full_name":5}`, DefaultDeveloperMetaFields, "full_name must be a string"},
		{"no fields configured", "", "", ""},
		{"empty list", "", "[]", ""},
		{"optional field absent", `{}`, `[{"title":"company","validator":{"required":false,"type":"string"}}]`, ""},
		{"extra meta kept", `{"full_name":"A","x":1}`, DefaultDeveloperMetaFields, ""},
		{"meta not an object", `[1]`, DefaultDeveloperMetaFields, "meta must be a JSON object"},
		{"broken configuration", `{}`, `{"title":`, "portal_developer_meta_fields"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDeveloperMeta(tc.meta, tc.fields)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

package scan

import (
	"mime"
	"strings"
)

// BodyKind classifies a Content-Type for the filters: "json" for
// application/json and any +json type, "xml" for application/xml, text/xml
// and any +xml type, "form" for application/x-www-form-urlencoded,
// "multipart" for multipart/form-data, "" otherwise (or when the header
// does not parse).
func BodyKind(contentType string) string {
	if contentType == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return "json"
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return "xml"
	case mt == "application/x-www-form-urlencoded":
		return "form"
	case mt == "multipart/form-data":
		return "multipart"
	}
	return ""
}

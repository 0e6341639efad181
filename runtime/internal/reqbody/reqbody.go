// Package reqbody decodes request bodies and query strings (the Admin
// API's, and the proxy's for kong.request) into a generic map[string]any
// tree, following the rules Kong 3.x applies
// in kong/api/api_helpers.lua (content-type filter), kong/api/arguments.lua
// and kong/api/arguments_decoder.lua (form argument decoding).
//
// The produced tree contains only these types:
//
//   - map[string]any for objects,
//   - []any for arrays,
//   - string for form leaf values (the caller types them by schema),
//   - json.Number, bool, string and nil for JSON scalars,
//   - bool true for a form key sent without "=" (Kong's "boolean argument"),
//   - nil for an empty form value ("key="), which Kong turns into ngx.null so
//     that a field can be cleared with a form request.
//
// Form keys are interpreted the way Kong interprets them:
//
//	config.add.headers=a:b         {"config":{"add":{"headers":"a:b"}}}
//	paths=/a&paths=/b              {"paths":["/a","/b"]}
//	paths[]=/a                     {"paths":["/a"]}
//	paths[1]=/a&paths[2]=/b        {"paths":["/a","/b"]}   (indexes are 1-based)
//	config.add.headers[1]=x        {"config":{"add":{"headers":["x"]}}}
//	config[add][headers]=x         {"config":{"add":{"headers":"x"}}}  (bodies only)
//	targets[1].target=a&targets[1].weight=5
//	                               {"targets":[{"target":"a","weight":"5"}]}
//
// A key given once keeps a scalar value; turning a scalar into a one-element
// array for array fields is the caller's schema coercion, as in Kong.
//
// Decoding never panics; hostile input is bounded by MaxArgs, MaxDepth,
// MaxArrayIndex and MaxJSONDepth and reported as an error value.
package reqbody

import (
	"errors"
	"fmt"
	"strings"
)

// UnsupportedMediaTypeMessage is the text Kong answers a request with when
// its body has a media type the Admin API does not accept. Kong 3.x calls
// kong.response.exit(415) without a body there, so the only text the client
// sees is the HTTP reason phrase of status 415, which is this string (nginx
// renders it as "415 Unsupported Media Type"). Callers answering with a JSON
// error body should use {"message": UnsupportedMediaTypeMessage}.
const UnsupportedMediaTypeMessage = "Unsupported Media Type"

// CannotParseJSONMessage is the message Kong's Admin API answers with
// (status 400) when an application/json body cannot be decoded. It is the
// Message of every *BodyError returned for a JSON body.
const CannotParseJSONMessage = "Cannot parse JSON body"

// Limits applied while decoding, so that hostile input cannot consume
// unbounded memory or time.
const (
	// MaxArgs is the maximum number of form arguments read from a
	// form-urlencoded body or a query string. As with Kong (which reads
	// arguments with ngx.req.get_post_args(100) and get_uri_args(100)),
	// arguments beyond this count are silently ignored. A multipart body
	// with more parts than this is an error, as it is in Kong.
	MaxArgs = 100

	// MaxDepth is the maximum number of path segments in a form key, for
	// example "a.b[1].c" has four segments: a, b, 1 and c.
	MaxDepth = 32

	// MaxArrayIndex is the largest array index accepted in a form key such
	// as "paths[3]". Indexes are 1-based, as in Kong; 0 is rejected too.
	MaxArrayIndex = 1000

	// MaxJSONDepth is the maximum nesting of arrays and objects in a JSON
	// body; it is the default decode_max_depth of the cjson library that
	// Kong decodes JSON bodies with.
	MaxJSONDepth = 1000
)

// UnsupportedMediaTypeError is returned by Decode when the content type is
// not one Kong's Admin API accepts, or when a non-empty body comes without a
// content type. Callers should answer with status 415 and
// UnsupportedMediaTypeMessage.
type UnsupportedMediaTypeError struct {
	// ContentType is the Content-Type header value as given ("" if absent).
	ContentType string
}

// Error implements the error interface.
func (e *UnsupportedMediaTypeError) Error() string {
	if e.ContentType == "" {
		return "reqbody: request body without a content type"
	}
	return fmt.Sprintf("reqbody: unsupported media type %q", e.ContentType)
}

// BodyError is returned when a body or query string of a supported media
// type is malformed or exceeds a limit. Callers should answer with status
// 400 and Message.
type BodyError struct {
	// Message is a client-facing description of the problem. For JSON
	// bodies it is always CannotParseJSONMessage, Kong's text.
	Message string
	// Err is the underlying cause, if any.
	Err error
}

// Error implements the error interface.
func (e *BodyError) Error() string {
	if e.Err == nil || e.Err.Error() == e.Message {
		return "reqbody: " + e.Message
	}
	return "reqbody: " + e.Message + ": " + e.Err.Error()
}

// Unwrap returns the underlying cause.
func (e *BodyError) Unwrap() error { return e.Err }

// mediaKind is a body format accepted by the Admin API.
type mediaKind int

const (
	mediaUnsupported mediaKind = iota
	mediaJSON
	mediaForm
	mediaMultipart
)

// classify maps a Content-Type header value to a body format. Like Kong's
// before_filter it compares prefixes case-sensitively, so parameters such
// as "; charset=utf-8" are accepted and "Application/JSON" is not.
func classify(contentType string) mediaKind {
	ct := strings.TrimLeft(contentType, " \t")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		return mediaJSON
	case strings.HasPrefix(ct, "multipart/form-data"):
		return mediaMultipart
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		return mediaForm
	}
	return mediaUnsupported
}

// Decode decodes an Admin API request body according to its Content-Type
// header value, as Kong 3.x does for POST, PUT and PATCH requests (the only
// methods Kong reads bodies for; callers should not decode bodies of other
// methods).
//
//   - application/json: the body must be a single JSON object; numbers are
//     kept as json.Number. Any failure is a *BodyError whose Message is
//     CannotParseJSONMessage.
//   - application/x-www-form-urlencoded: form semantics, see the package
//     documentation.
//   - multipart/form-data (with a boundary parameter): each named part is a
//     form argument whose value is the part content as a string (file
//     parts included); part names follow form key semantics.
//   - An empty body decodes to an empty map when the content type is one of
//     the above or absent.
//   - Any other content type, or a non-empty body without a content type,
//     is an *UnsupportedMediaTypeError (Kong answers both with 415).
//
// Note that Kong answers a POST, PUT or PATCH whose content type is
// application/json and whose body is empty with 400 CannotParseJSONMessage;
// Decode returns an empty map there, so callers that want that behaviour
// must check for an empty body themselves.
func Decode(contentType string, body []byte) (map[string]any, error) {
	kind := classify(contentType)
	if kind == mediaUnsupported {
		if strings.TrimSpace(contentType) == "" && len(body) == 0 {
			return map[string]any{}, nil
		}
		return nil, &UnsupportedMediaTypeError{ContentType: contentType}
	}
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	switch kind {
	case mediaJSON:
		return decodeJSON(body)
	case mediaForm:
		return decodeForm(string(body), true, MaxArgs, false)
	default:
		return decodeMultipart(contentType, body, MaxArgs)
	}
}

// TooManyArgsMessage is the message of the *BodyError DecodeStrict returns
// for a form or multipart body with more arguments than allowed; %d is the
// limit. It names Kong's setting for that limit.
const TooManyArgsMessage = "too many arguments in the request body: more than %d (lua_max_post_args)"

func tooManyArgs(max int) error {
	msg := fmt.Sprintf(TooManyArgsMessage, max)
	return &BodyError{Message: msg, Err: errors.New(msg)}
}

// DecodeStrict decodes a body as Decode does, except that a form-urlencoded
// or multipart body may hold at most maxArgs arguments (maxArgs < 1 means
// MaxArgs) and one with more is a *BodyError saying so, instead of losing
// the arguments past the limit as ngx.req.get_post_args does: the Admin API
// must never store an entity with some of its fields silently dropped.
func DecodeStrict(contentType string, body []byte, maxArgs int) (map[string]any, error) {
	if maxArgs < 1 {
		maxArgs = MaxArgs
	}
	switch classify(contentType) {
	case mediaForm:
		if len(body) == 0 {
			return map[string]any{}, nil
		}
		return decodeForm(string(body), true, maxArgs, true)
	case mediaMultipart:
		if len(body) == 0 {
			return map[string]any{}, nil
		}
		return decodeMultipart(contentType, body, maxArgs)
	}
	return Decode(contentType, body)
}

// DecodeQuery decodes a raw URL query string (URL.RawQuery, without the
// leading "?") with the same form semantics as a form-urlencoded body.
// As in Kong for GET requests, non-numeric bracket keys such as "a[b]" are
// not map syntax in a query string: such a key is kept literally.
func DecodeQuery(raw string) (map[string]any, error) {
	return decodeForm(raw, false, MaxArgs, false)
}

package reqbody

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
)

// decodeMultipart decodes a multipart/form-data body: every part with a
// name becomes a form argument whose value is the part content (file parts
// included), and the arguments are then decoded with form semantics.
func decodeMultipart(contentType string, body []byte, maxArgs int) (map[string]any, error) {
	boundary := multipartBoundary(contentType)
	if boundary == "" {
		return nil, &BodyError{Message: "multipart/form-data body without a boundary"}
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	var args []arg
	for parts := 0; ; parts++ {
		part, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			if parts == 0 && !bytes.Contains(body, []byte("--"+boundary)) {
				// The reader takes everything before the first
				// delimiter as a preamble; a body without any
				// delimiter is not multipart data at all.
				return nil, &BodyError{Message: "malformed multipart/form-data body",
					Err: fmt.Errorf("boundary %q not found", boundary)}
			}
			break
		}
		if err != nil {
			return nil, &BodyError{Message: "malformed multipart/form-data body", Err: err}
		}
		if parts >= maxArgs {
			return nil, tooManyArgs(maxArgs)
		}
		name, err := partName(part)
		if err != nil {
			// A Content-Disposition that does not parse (a repeated
			// parameter, say) would otherwise drop the part silently.
			return nil, &BodyError{Message: "malformed multipart/form-data body", Err: err}
		}
		content, err := io.ReadAll(part)
		if err != nil {
			return nil, &BodyError{Message: "malformed multipart/form-data body", Err: err}
		}
		if name == "" {
			// Kong gives unnamed parts a numeric key that no schema
			// field can match; they are dropped here.
			continue
		}
		args = append(args, arg{key: name, val: string(content)})
	}
	return buildTree(args, true)
}

// multipartBoundary extracts the boundary parameter of a multipart
// content type. When the header does not parse as a media type it falls
// back to Kong's lenient scan for "boundary=" up to the next ";",
// removing one pair of surrounding quotes.
func multipartBoundary(contentType string) string {
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		return params["boundary"]
	}
	i := strings.Index(contentType, "boundary=")
	if i < 0 {
		return ""
	}
	b := contentType[i+len("boundary="):]
	if j := strings.IndexByte(b, ';'); j >= 0 {
		b = b[:j]
	}
	if len(b) >= 2 && (b[0] == '"' && b[len(b)-1] == '"' || b[0] == '\'' && b[len(b)-1] == '\'') {
		b = b[1 : len(b)-1]
	}
	return b
}

// partName returns the name parameter of a part's Content-Disposition
// header, whatever its disposition type.
func partName(p *multipart.Part) (string, error) {
	if name := p.FormName(); name != "" {
		return name, nil
	}
	cd := p.Header.Get("Content-Disposition")
	if cd == "" {
		return "", nil
	}
	_, params, err := mime.ParseMediaType(cd)
	if err != nil {
		return "", fmt.Errorf("part Content-Disposition %q: %w", cd, err)
	}
	return params["name"], nil
}

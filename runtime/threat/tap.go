package threat

import "strconv"

// Refusal ends a request whose streamed body a Tap refused: the client
// gets status and message (Kong's error body), the upstream sees the
// request cut short, and the client's connection closes (the rest of the
// body is still on it).
type Refusal struct {
	Status  int
	Message string
}

// Error implements error.
func (r *Refusal) Error() string {
	return "threat: body refused with " + strconv.Itoa(r.Status) + ": " + r.Message
}

// Tap sees a streamed request body as it goes upstream, without the body
// being buffered. The proxy calls Write with each piece in order, before
// the piece is sent on, and End exactly once: with complete set when the
// body was read to its end (before its last piece is sent on, so a
// refusal there still cuts the request short), unset when the request
// ended otherwise (End must then release what the tap holds). A non-nil
// Refusal ends the request.
type Tap interface {
	Write(p []byte) *Refusal
	End(complete bool) *Refusal
}

// BodyTapper is implemented by the proxy's request (kong.request) in the
// rewrite and access phases: TapBody installs t on a body the proxy
// streams (large bodies, see proxy.StreamThreshold) and reports true; it
// reports false when the body is read whole, which the caller then reads
// with RawBody. One tap per request: a later call replaces an earlier one.
type BodyTapper interface {
	TapBody(t Tap) bool
}

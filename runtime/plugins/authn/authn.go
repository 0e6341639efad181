// Package authn is what Gatehouse's authentication plugins (key-auth,
// basic-auth, jwt, hmac-auth) share, after Kong 3.9's: the access-phase
// flow around a plugin's own credential check (logical OR with other auth plugins, the
// anonymous consumer, the 4xx answer) and the identification of the
// request's consumer, with the X-Consumer-* and X-Credential-Identifier
// headers sent upstream.
package authn

import (
	"fmt"

	"github.com/gatehouse/gatehouse/hostabi"
)

// The upstream headers Kong's auth plugins set (kong.constants.HEADERS).
const (
	HeaderConsumerID       = "X-Consumer-ID"
	HeaderConsumerCustomID = "X-Consumer-Custom-ID"
	HeaderConsumerUsername = "X-Consumer-Username"
	HeaderCredentialID     = "X-Credential-Identifier"
	HeaderAnonymous        = "X-Anonymous-Consumer"
)

// MsgUnexpected is Kong's message for a server-side failure.
const MsgUnexpected = "An unexpected error occurred"

// Failure is why a request did not authenticate.
type Failure struct {
	// Status and Message are the answer: Status with {"message": Message}
	// and the plugin's WWW-Authenticate challenge.
	Status  int
	Message string
	// Body, when set, is sent as JSON instead of {"message": Message}
	// (jwt answers a failed claim check with its errors by claim).
	Body any
	// Challenge, when set, is the WWW-Authenticate header instead of the
	// flow's (jwt adds error="invalid_token" once a token was found).
	Challenge string
	// NoChallenge sends the answer without WWW-Authenticate.
	NoChallenge bool
	// Err is set for a server-side failure: without an anonymous consumer
	// the request fails with it (a 500) instead of the answer.
	Err error
}

// Check is a plugin's own part of authentication: it finds the request's
// credential and verifies it. It returns the credential; or a Failure
// when the request does not authenticate; or an error when a lookup
// failed, which fails the request even with an anonymous consumer.
type Check func(k hostabi.Kong) (credential hostabi.Entity, fail *Failure, err error)

// Flow is one configured authentication plugin's side of Kong's flow. It
// holds no per-request state and is safe for concurrent use.
type Flow struct {
	// Plugin names the plugin in errors and log lines ("key-auth").
	Plugin string
	// Entity and Field are the plugin's credential entity and its unique
	// field ("keyauth_credentials", "key"), for Credential.
	Entity, Field string
	// IdentifierField is the credential field sent upstream as
	// X-Credential-Identifier: "id" (key-auth), "username" (basic-auth).
	IdentifierField string
	// Anonymous is the consumer (id or username) a request that does not
	// authenticate runs as; "" to answer it with the failure.
	Anonymous string
	// Challenge is the WWW-Authenticate header sent with a failure.
	Challenge string
}

// messageBody is Kong's error body, {"message": "..."}.
type messageBody struct {
	Message string `json:"message"`
}

// Access runs the access phase of an auth plugin as Kong does. With an
// anonymous consumer configured, a request an earlier plugin already
// identified with a credential is left alone (logical OR), and one that
// does not authenticate runs as the anonymous consumer; without one, a
// failure ends the request with its answer. A credential check passes the
// credential's consumer (loaded by id) to Identify.
func (f *Flow) Access(k hostabi.Kong, check Check) error {
	if f.Anonymous != "" && k.Client().Credential() != nil {
		return nil
	}
	fail, err := f.authenticate(k, check)
	if err != nil || fail == nil {
		return err
	}
	if f.Anonymous != "" {
		if fail.Err != nil {
			k.Log().Err(f.Plugin+": authentication failed", "error", fail.Err)
		}
		return f.identifyAnonymous(k)
	}
	if fail.Err != nil {
		return fail.Err
	}
	var body any = messageBody{fail.Message}
	if fail.Body != nil {
		body = fail.Body
	}
	challenge := f.Challenge
	if fail.Challenge != "" {
		challenge = fail.Challenge
	}
	headers := map[string]string{"WWW-Authenticate": challenge}
	if fail.NoChallenge {
		headers = nil
	}
	hostabi.JSONExit(k.Response(), fail.Status, body, headers)
	return nil
}

// authenticate runs check, then loads the credential's consumer and
// identifies the request.
func (f *Flow) authenticate(k hostabi.Kong, check Check) (*Failure, error) {
	cred, fail, err := check(k)
	if err != nil || fail != nil {
		return fail, err
	}
	var consumer hostabi.Entity
	if id := ForeignID(cred["consumer"]); id != "" {
		consumer, err = k.Client().LoadConsumer(k.Context(), id, false)
		if err != nil {
			return &Failure{Status: 500, Message: MsgUnexpected, Err: fmt.Errorf("%s: loading consumer: %w", f.Plugin, err)}, nil
		}
	}
	Identify(k, consumer, cred, f.IdentifierField)
	return nil, nil
}

// Credential finds the plugin's credential whose unique field is value,
// through the node's cache; nil when there is none.
func (f *Flow) Credential(k hostabi.Kong, value string) (hostabi.Entity, error) {
	cred, err := k.Credentials().Credential(k.Context(), f.Entity, f.Field, value)
	if err != nil {
		return nil, fmt.Errorf("%s: loading credential: %w", f.Plugin, err)
	}
	return cred, nil
}

// identifyAnonymous identifies the request as the anonymous consumer.
func (f *Flow) identifyAnonymous(k hostabi.Kong) error {
	consumer, err := LoadAnonymous(k, f.Anonymous)
	if err != nil {
		return fmt.Errorf("%s: loading anonymous consumer: %w", f.Plugin, err)
	}
	if consumer == nil {
		return fmt.Errorf("%s: anonymous consumer %s is configured but doesn't exist", f.Plugin, f.Anonymous)
	}
	Identify(k, consumer, nil, "")
	return nil
}

// Identify authenticates the request as consumer with credential (either
// may be nil) and sets the upstream identity headers as Kong's
// set_consumer does: each X-Consumer-* header carries the consumer's
// field, or is cleared when the field is empty (so a client cannot spoof
// it); X-Credential-Identifier carries the credential's identifierField;
// X-Anonymous-Consumer is "true" without a credential, cleared otherwise.
func Identify(k hostabi.Kong, consumer, credential hostabi.Entity, identifierField string) {
	k.Client().Authenticate(consumer, credential)
	sr := k.ServiceRequest()
	setOrClear(sr, HeaderConsumerID, stringField(consumer, "id"))
	setOrClear(sr, HeaderConsumerCustomID, stringField(consumer, "custom_id"))
	setOrClear(sr, HeaderConsumerUsername, stringField(consumer, "username"))
	setOrClear(sr, HeaderCredentialID, stringField(credential, identifierField))
	if credential != nil {
		sr.ClearHeader(HeaderAnonymous)
	} else {
		sr.SetHeader(HeaderAnonymous, "true")
	}
}

func setOrClear(sr hostabi.ServiceRequest, name, value string) {
	if value != "" {
		sr.SetHeader(name, value)
	} else {
		sr.ClearHeader(name)
	}
}

func stringField(e hostabi.Entity, field string) string {
	s, _ := e[field].(string)
	return s
}

// LoadAnonymous finds the anonymous consumer as
// kong.client.load_consumer(anonymous, true) does: by id when anonymous is
// a UUID, then by username. It returns nil when there is none.
func LoadAnonymous(k hostabi.Kong, anonymous string) (hostabi.Entity, error) {
	if IsUUID(anonymous) {
		c, err := k.Client().LoadConsumer(k.Context(), anonymous, false)
		if err != nil || c != nil {
			return c, err
		}
	}
	return k.Client().LoadConsumer(k.Context(), anonymous, true)
}

// ForeignID returns the id of a foreign key value ({"id": "..."}), or "".
func ForeignID(v any) string {
	m, _ := v.(map[string]any)
	id, _ := m["id"].(string)
	return id
}

// IsUUID reports whether s has the textual form of a UUID (8-4-4-4-12 hex
// digits, any case).
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

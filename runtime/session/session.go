// Package session keeps the sign-in sessions of Kong Manager (audience
// "admin") and of the Developer Portal (audience "portal"), as Kong
// Enterprise's session plugin does with admin_gui_session_conf and
// portal_session_conf.
//
// With storage "kong" a session is a row in the store (the sessions
// entity), so every node of a cluster sees it and signing out ends it
// everywhere; the cookie holds a random 32-byte id and an HMAC-SHA256 of
// it (keyed with the configured secret, bound to the audience), so a
// forged or altered cookie is refused before any store read. With
// storage "cookie" (the session plugin's default) the session lives in
// the cookie itself, sealed with AES-GCM under a key derived from the
// secret; signing out then only clears the browser's cookie, as in Kong.
//
// The package uses no HTTP framework: it takes cookie values and returns
// *http.Cookie values for the caller to set (on net/http with
// http.SetCookie, on Fiber with c.Append("Set-Cookie", cookie.String())).
package session

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/runtime/config"
)

// The audiences: a session started for one is never accepted for the
// other, even when both share a secret.
const (
	AudienceAdmin  = "admin"
	AudiencePortal = "portal"
)

// maxCookieValue bounds the cookie values Load looks at.
const maxCookieValue = 4096

// Record is one server-side session, as a Storage keeps it.
type Record struct {
	// ID is the SHA-256 digest (hex) of the id the cookie carries.
	ID string
	// Audience is AudienceAdmin or AudiencePortal.
	Audience string
	// Subject is whom the session signs in (an admin's or developer's id).
	Subject string
	// Created is when the session started.
	Created time.Time
	// LastSeen is when the session was last used (to the touch interval).
	LastSeen time.Time
	// RollingExpires is when the session ends unless renewed (zero: no
	// rolling timeout).
	RollingExpires time.Time
	// AbsoluteExpires is when the session ends whatever happens (zero: no
	// absolute timeout).
	AbsoluteExpires time.Time
}

// ErrNotFound is what Storage.Update returns when the session is gone.
var ErrNotFound = errors.New("session: no such session")

// Storage keeps server-side sessions (storage "kong"). ttl is how long the
// row must be kept at least (0: no limit); a row past it may vanish.
type Storage interface {
	// Create stores a new session.
	Create(ctx context.Context, rec Record, ttl time.Duration) error
	// Update replaces the stored session rec.ID; ErrNotFound when it is
	// gone.
	Update(ctx context.Context, rec Record, ttl time.Duration) error
	// Get returns the session with the id; ok is false when there is none.
	Get(ctx context.Context, id string) (rec Record, ok bool, err error)
	// Delete removes the session with the id; a missing one is no error.
	Delete(ctx context.Context, id string) error
}

// Purger is a Storage that can drop its ended rows; Start calls it at
// most once per PurgeEvery, so a busy sign-in page keeps the table small.
type Purger interface {
	// Purge deletes the rows past their ttl and returns how many.
	Purge(ctx context.Context) (int, error)
}

// PurgeEvery is how often Start purges ended sessions (when the Storage
// is a Purger).
const PurgeEvery = time.Hour

// Session is a valid session Load found.
type Session struct {
	// Subject is whom the session signs in.
	Subject string
	// Created is when it started.
	Created time.Time
	// Expires is when it ends if not used or renewed before: the earliest
	// of its rolling, idling and absolute ends (zero: never).
	Expires time.Time
	// Cookie, when not nil, is a re-issued cookie the response must set
	// (the session was renewed and the cookie carries its state).
	Cookie *http.Cookie
}

// Manager starts, loads and ends the sessions of one audience with one
// session configuration. It is safe for concurrent use.
type Manager struct {
	conf     config.SessionConf
	audience string
	storage  Storage
	macKey   []byte
	aead     cipher.AEAD
	now      func() time.Time

	purgeMu   sync.Mutex
	lastPurge time.Time
}

// Option adjusts a Manager.
type Option func(*Manager)

// WithClock makes the Manager read the time from now (tests).
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.now = now } }

// New returns a Manager for audience with conf. conf must have a secret;
// storage is required when conf.Storage is "kong" and unused otherwise.
func New(conf config.SessionConf, audience string, storage Storage, opts ...Option) (*Manager, error) {
	if conf.Secret == "" {
		return nil, errors.New("session: the session configuration has no secret")
	}
	if audience == "" || strings.ContainsAny(audience, "|.") {
		return nil, fmt.Errorf("session: invalid audience %q", audience)
	}
	if conf.ServerSide() && storage == nil {
		return nil, errors.New("session: storage \"kong\" needs a Storage")
	}
	m := &Manager{conf: conf, audience: audience, storage: storage, now: time.Now}
	mac := sha256.Sum256([]byte("gatehouse session mac\x00" + conf.Secret))
	m.macKey = mac[:]
	enc := sha256.Sum256([]byte("gatehouse session seal\x00" + conf.Secret))
	block, err := aes.NewCipher(enc[:])
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if m.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	for _, o := range opts {
		o(m)
	}
	return m, nil
}

// Conf returns the session configuration.
func (m *Manager) Conf() config.SessionConf { return m.conf }

// Audience returns the Manager's audience.
func (m *Manager) Audience() string { return m.audience }

// CookieName returns the session cookie's name.
func (m *Manager) CookieName() string { return m.conf.Name() }

// Start begins a session for subject and returns the cookie that carries
// it.
func (m *Manager) Start(ctx context.Context, subject string) (*http.Cookie, error) {
	if subject == "" {
		return nil, errors.New("session: empty subject")
	}
	now := m.now()
	st := state{Subject: subject, Created: now, LastSeen: now}
	if d := m.conf.Absolute(); d > 0 {
		st.AbsoluteExpires = now.Add(d)
	}
	st.RollingExpires = m.rollingEnd(now, st.AbsoluteExpires)
	if !m.conf.ServerSide() {
		return m.sealCookie(st)
	}
	m.maybePurge(ctx, now)
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	rec := st.record(m.audience, digest(id))
	if err := m.storage.Create(ctx, rec, m.keep(rec, now)); err != nil {
		return nil, fmt.Errorf("session: storing the session: %w", err)
	}
	return m.cookie(id+"."+m.sign(id), st.AbsoluteExpires), nil
}

// Load checks the value of a session cookie. ok is false when the value
// is not a valid, live session of the Manager's audience (forged,
// altered, expired, signed out); err is only a storage failure. A session
// due for renewal is renewed (Session.Cookie is then set for
// cookie-stored sessions).
func (m *Manager) Load(ctx context.Context, value string) (s Session, ok bool, err error) {
	if value == "" || len(value) > maxCookieValue {
		return Session{}, false, nil
	}
	now := m.now()
	if !m.conf.ServerSide() {
		st, ok := m.openCookie(value)
		if !ok || !m.live(st, now) {
			return Session{}, false, nil
		}
		st, changed := m.advance(st, now)
		s = st.session(m.conf.Idling())
		if changed {
			if s.Cookie, err = m.sealCookie(st); err != nil {
				return Session{}, false, err
			}
		}
		return s, true, nil
	}
	id, ok := m.verify(value)
	if !ok {
		return Session{}, false, nil
	}
	key := digest(id)
	rec, found, err := m.storage.Get(ctx, key)
	if err != nil {
		return Session{}, false, fmt.Errorf("session: reading the session: %w", err)
	}
	if !found || rec.Audience != m.audience || rec.ID != key {
		return Session{}, false, nil
	}
	st := stateOf(rec)
	if !m.live(st, now) {
		if err := m.storage.Delete(ctx, key); err != nil {
			return Session{}, false, fmt.Errorf("session: removing an ended session: %w", err)
		}
		return Session{}, false, nil
	}
	st, changed := m.advance(st, now)
	s = st.session(m.conf.Idling())
	if changed {
		rec = st.record(m.audience, key)
		if err := m.storage.Update(ctx, rec, m.keep(rec, now)); errors.Is(err, ErrNotFound) {
			return Session{}, false, nil // signed out meanwhile
		} else if err != nil {
			return Session{}, false, fmt.Errorf("session: renewing the session: %w", err)
		}
		if m.conf.Remember {
			s.Cookie = m.cookie(value, st.AbsoluteExpires)
		}
	}
	return s, true, nil
}

// maybePurge drops ended sessions when the last purge is PurgeEvery old;
// a failure only waits for the next turn (reads never return ended rows).
func (m *Manager) maybePurge(ctx context.Context, now time.Time) {
	p, ok := m.storage.(Purger)
	if !ok {
		return
	}
	m.purgeMu.Lock()
	due := now.Sub(m.lastPurge) >= PurgeEvery
	if due {
		m.lastPurge = now
	}
	m.purgeMu.Unlock()
	if due {
		_, _ = p.Purge(ctx)
	}
}

// LoadHeader finds the session cookies in a Cookie request header and
// loads the first valid one (a browser may send several cookies of one
// name, for different paths).
func (m *Manager) LoadHeader(ctx context.Context, cookieHeader string) (s Session, ok bool, err error) {
	for _, v := range m.Values(cookieHeader) {
		if s, ok, err = m.Load(ctx, v); ok || err != nil {
			return s, ok, err
		}
	}
	return Session{}, false, nil
}

// Values returns the values of the session cookies in a Cookie request
// header (at most 8).
func (m *Manager) Values(cookieHeader string) []string {
	if cookieHeader == "" || len(cookieHeader) > 16384 {
		return nil
	}
	cookies, err := http.ParseCookie(cookieHeader)
	if err != nil {
		// A malformed pair elsewhere in the header: look at each pair.
		for _, part := range strings.Split(cookieHeader, ";") {
			if c, err := http.ParseCookie(strings.TrimSpace(part)); err == nil {
				cookies = append(cookies, c...)
			}
		}
	}
	var out []string
	for _, c := range cookies {
		if c.Name == m.conf.Name() && len(out) < 8 {
			out = append(out, c.Value)
		}
	}
	return out
}

// Destroy ends the session of a cookie value (for server-side sessions
// the stored row goes, so the cookie is refused everywhere from now on)
// and returns the cookie that clears the browser's. A value that is not a
// valid session is no error.
func (m *Manager) Destroy(ctx context.Context, value string) (*http.Cookie, error) {
	if m.conf.ServerSide() && len(value) <= maxCookieValue {
		if id, ok := m.verify(value); ok {
			if err := m.storage.Delete(ctx, digest(id)); err != nil {
				return nil, fmt.Errorf("session: removing the session: %w", err)
			}
		}
	}
	return m.ClearCookie(), nil
}

// DestroyHeader ends every session cookie a Cookie request header holds
// and returns the cookie that clears the browser's.
func (m *Manager) DestroyHeader(ctx context.Context, cookieHeader string) (*http.Cookie, error) {
	for _, v := range m.Values(cookieHeader) {
		if _, err := m.Destroy(ctx, v); err != nil {
			return nil, err
		}
	}
	return m.ClearCookie(), nil
}

// ClearCookie returns a cookie that makes the browser drop the session
// cookie.
func (m *Manager) ClearCookie() *http.Cookie {
	c := m.cookie("", time.Time{})
	c.MaxAge = -1
	c.Expires = time.Unix(0, 0)
	return c
}

// Info is the `session` block of Kong's GET /userinfo (and the portal's
// GET /session): the timeouts in seconds and when the session ends.
type Info struct {
	IdlingTimeout   int64      `json:"idling_timeout"`
	RollingTimeout  int64      `json:"rolling_timeout"`
	AbsoluteTimeout int64      `json:"absolute_timeout"`
	StaleTTL        int64      `json:"stale_ttl"`
	ExpiresIn       int64      `json:"expires_in"`
	Expires         int64      `json:"expires"`
	Cookie          InfoCookie `json:"cookie"`
}

// InfoCookie is Info's `cookie` block, the session plugin's 2.x names.
type InfoCookie struct {
	Discard  int64 `json:"discard"`
	Renew    int64 `json:"renew"`
	Idletime int64 `json:"idletime"`
	Lifetime int64 `json:"lifetime"`
}

// Info returns the Info block of a loaded session.
func (m *Manager) Info(s Session) Info {
	secs := func(d time.Duration) int64 { return int64(d / time.Second) }
	in := Info{
		IdlingTimeout: secs(m.conf.Idling()), RollingTimeout: secs(m.conf.Rolling()),
		AbsoluteTimeout: secs(m.conf.Absolute()), StaleTTL: secs(m.conf.Stale()),
	}
	renew := int64(600)
	for _, t := range []int64{in.IdlingTimeout, in.RollingTimeout, in.AbsoluteTimeout} {
		if t > 0 && t < renew {
			renew = t
		}
	}
	in.Cookie = InfoCookie{Discard: in.StaleTTL, Renew: renew, Idletime: in.IdlingTimeout, Lifetime: in.RollingTimeout}
	if !s.Expires.IsZero() {
		in.ExpiresIn = max(0, int64(s.Expires.Sub(m.now())/time.Second))
		in.Expires = m.now().Unix() + in.ExpiresIn
	}
	return in
}

// state is a session's times and subject, wherever it is kept.
type state struct {
	Subject         string    `json:"sub"`
	Audience        string    `json:"aud"`
	Created         time.Time `json:"iat"`
	LastSeen        time.Time `json:"lst"`
	RollingExpires  time.Time `json:"rex"`
	AbsoluteExpires time.Time `json:"aex"`
}

func stateOf(r Record) state {
	return state{Subject: r.Subject, Audience: r.Audience, Created: r.Created, LastSeen: r.LastSeen,
		RollingExpires: r.RollingExpires, AbsoluteExpires: r.AbsoluteExpires}
}

func (st state) record(audience, id string) Record {
	return Record{ID: id, Audience: audience, Subject: st.Subject, Created: st.Created, LastSeen: st.LastSeen,
		RollingExpires: st.RollingExpires, AbsoluteExpires: st.AbsoluteExpires}
}

// end returns when the session ends unless used or renewed (zero: never).
func (st state) end(idling time.Duration) time.Time {
	var end time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (end.IsZero() || t.Before(end)) {
			end = t
		}
	}
	consider(st.RollingExpires)
	consider(st.AbsoluteExpires)
	if idling > 0 {
		consider(st.LastSeen.Add(idling))
	}
	return end
}

func (st state) session(idling time.Duration) Session {
	return Session{Subject: st.Subject, Created: st.Created, Expires: st.end(idling)}
}

// live reports whether the session has not ended at now.
func (m *Manager) live(st state, now time.Time) bool {
	if st.Subject == "" || now.Before(st.Created.Add(-time.Minute)) {
		return false
	}
	end := st.end(m.conf.Idling())
	return end.IsZero() || now.Before(end)
}

// rollingEnd is the rolling end of a session renewed at now.
func (m *Manager) rollingEnd(now, absolute time.Time) time.Time {
	d := m.conf.Rolling()
	if d <= 0 {
		return time.Time{}
	}
	end := now.Add(d)
	if !absolute.IsZero() && end.After(absolute) {
		end = absolute
	}
	return end
}

// advance records a use at now: the last-seen time moves when it is older
// than the touch interval, and the rolling end moves when the session is
// in the last quarter of its rolling timeout. changed reports either.
func (m *Manager) advance(st state, now time.Time) (state, bool) {
	changed := false
	if idling := m.conf.Idling(); idling > 0 {
		touch := min(idling/4, time.Minute)
		if now.Sub(st.LastSeen) >= touch {
			st.LastSeen = now
			changed = true
		}
	}
	if rolling := m.conf.Rolling(); rolling > 0 && !st.RollingExpires.IsZero() {
		if st.RollingExpires.Sub(now) < rolling/4 {
			if next := m.rollingEnd(now, st.AbsoluteExpires); next.After(st.RollingExpires) {
				st.RollingExpires = next
				changed = true
			}
		}
	}
	return st, changed
}

// keep is how long a stored session row must be kept: until the session
// can no longer be live, plus the stale TTL; 0 when it never ends.
func (m *Manager) keep(rec Record, now time.Time) time.Duration {
	end := stateOf(rec).end(m.conf.Idling())
	if end.IsZero() {
		return 0
	}
	return max(end.Sub(now), time.Second) + m.conf.Stale()
}

// sign returns the MAC of a server-side session id, bound to the audience.
func (m *Manager) sign(id string) string {
	h := hmac.New(sha256.New, m.macKey)
	h.Write([]byte(m.audience + "|" + id))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// verify splits a server-side cookie value into the id and its MAC and
// checks the MAC; ok is false for anything else.
func (m *Manager) verify(value string) (id string, ok bool) {
	id, mac, found := strings.Cut(value, ".")
	if !found || len(id) != 43 || len(mac) != 43 {
		return "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(id); err != nil {
		return "", false
	}
	if !hmac.Equal([]byte(mac), []byte(m.sign(id))) {
		return "", false
	}
	return id, true
}

// digest is the stored key of a session id.
func digest(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// sealCookie returns the cookie carrying a cookie-stored session.
func (m *Manager) sealCookie(st state) (*http.Cookie, error) {
	st.Audience = m.audience
	plain, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	nonce := make([]byte, m.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	sealed := m.aead.Seal(nonce, nonce, plain, []byte(m.audience))
	return m.cookie(base64.RawURLEncoding.EncodeToString(sealed), st.AbsoluteExpires), nil
}

// openCookie opens a cookie-stored session; ok is false when the value
// was not sealed by this Manager's secret for its audience.
func (m *Manager) openCookie(value string) (state, bool) {
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(sealed) < m.aead.NonceSize()+m.aead.Overhead() {
		return state{}, false
	}
	n := m.aead.NonceSize()
	plain, err := m.aead.Open(nil, sealed[:n], sealed[n:], []byte(m.audience))
	if err != nil {
		return state{}, false
	}
	var st state
	if json.Unmarshal(plain, &st) != nil || st.Audience != m.audience {
		return state{}, false
	}
	return st, true
}

// cookie returns the session cookie with value and the configuration's
// attributes; with remember, it expires at expires (when set).
func (m *Manager) cookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name: m.conf.Name(), Value: value, Path: m.conf.Path(), Domain: m.conf.CookieDomain,
		Secure: m.conf.Secure(), HttpOnly: m.conf.HTTPOnly(),
	}
	switch m.conf.SameSite() {
	case "Strict":
		c.SameSite = http.SameSiteStrictMode
	case "Lax":
		c.SameSite = http.SameSiteLaxMode
	case "None":
		c.SameSite = http.SameSiteNoneMode
	}
	if m.conf.Remember && !expires.IsZero() {
		c.Expires = expires.UTC()
	}
	return c
}

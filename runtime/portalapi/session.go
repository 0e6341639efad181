package portalapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// The portal's sessions: server-side (Kong's storage "kong"; the portal
// forces it), the cookie holding only a random session id and its
// HMAC-SHA256 under the configuration's secret. The sessions live in the
// node's memory: a restart, or another node, signs every developer out
// (runtime/session, the store-backed sessions of Kong Manager, was not
// on the branch when this was written; see README.md).

// sessionConf is the part of portal_session_conf the portal reads.
type sessionConf struct {
	Secret         string  `json:"secret"`
	CookieName     string  `json:"cookie_name"`
	CookieSecure   *bool   `json:"cookie_secure"`
	CookieLifetime float64 `json:"cookie_lifetime"`
	CookieSameSite string  `json:"cookie_samesite"`
	// CookieSameSite3x is the 3.x spelling of cookie_samesite.
	CookieSameSite3x string `json:"cookie_same_site"`
	// RollingTimeout is the 3.x lifetime key.
	RollingTimeout float64 `json:"rolling_timeout"`
}

// defaultLifetime is the session's lifetime without a configured one
// (the session plugin's 3600 s).
const defaultLifetime = 3600 * time.Second

// maxSessions bounds the sessions one node keeps: past it, signing in
// drops the expired ones, then refuses to grow.
const maxSessions = 100_000

// parseSessionConf reads a portal_session_conf JSON object; a malformed
// one gives the defaults (the Admin API validated it when it was set).
func parseSessionConf(s string) sessionConf {
	var sc sessionConf
	if strings.TrimSpace(s) != "" {
		_ = json.Unmarshal([]byte(s), &sc)
	}
	return sc
}

// cookieName is the session cookie's name: cookie_name, else
// <workspace>_portal_session as Kong names it.
func (sc sessionConf) cookieName() string {
	if sc.CookieName != "" {
		return sc.CookieName
	}
	return "default_portal_session"
}

func (sc sessionConf) lifetime() time.Duration {
	switch {
	case sc.RollingTimeout > 0:
		return time.Duration(sc.RollingTimeout * float64(time.Second))
	case sc.CookieLifetime > 0:
		return time.Duration(sc.CookieLifetime * float64(time.Second))
	}
	return defaultLifetime
}

func (sc sessionConf) sameSite() string {
	s := sc.CookieSameSite3x
	if s == "" {
		s = sc.CookieSameSite
	}
	switch s {
	case "Lax":
		return fiber.CookieSameSiteLaxMode
	case "None":
		return fiber.CookieSameSiteNoneMode
	case "off":
		return fiber.CookieSameSiteDisabled
	}
	return fiber.CookieSameSiteStrictMode
}

// session is one signed-in developer.
type session struct {
	developerID string
	expires     time.Time
}

// sessions holds the live sessions by id.
type sessions struct {
	mu sync.Mutex
	m  map[string]session
	// key signs cookies when the configuration gives no secret.
	key []byte
}

func newSessions() *sessions {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand never fails on supported platforms
	return &sessions{m: map[string]session{}, key: key}
}

func (s *sessions) secret(sc sessionConf) []byte {
	if sc.Secret != "" {
		return []byte(sc.Secret)
	}
	return s.key
}

// sign returns the cookie value of a session id.
func (s *sessions) sign(sc sessionConf, id string) string {
	m := hmac.New(sha256.New, s.secret(sc))
	m.Write([]byte(id))
	return id + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verify returns the session id of a cookie value whose signature holds.
func (s *sessions) verify(sc sessionConf, value string) (string, bool) {
	id, _, ok := strings.Cut(value, ".")
	if !ok || id == "" {
		return "", false
	}
	want := s.sign(sc, id)
	if subtle.ConstantTimeCompare([]byte(want), []byte(value)) != 1 {
		return "", false
	}
	return id, true
}

// start opens a session for the developer and sets its cookie; false
// when the node holds too many sessions.
func (s *sessions) start(c *fiber.Ctx, sc sessionConf, developerID string) bool {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	id := base64.RawURLEncoding.EncodeToString(raw)
	now := time.Now()
	life := sc.lifetime()
	s.mu.Lock()
	if len(s.m) >= maxSessions {
		for k, v := range s.m {
			if !now.Before(v.expires) {
				delete(s.m, k)
			}
		}
	}
	if len(s.m) >= maxSessions {
		s.mu.Unlock()
		return false
	}
	s.m[id] = session{developerID: developerID, expires: now.Add(life)}
	s.mu.Unlock()
	c.Cookie(&fiber.Cookie{
		Name: sc.cookieName(), Value: s.sign(sc, id), Path: "/", HTTPOnly: true,
		Secure: sc.CookieSecure == nil || *sc.CookieSecure, SameSite: sc.sameSite(),
		Expires: now.Add(life), MaxAge: int(life / time.Second),
	})
	return true
}

// load returns the developer id of the request's live session.
func (s *sessions) load(c *fiber.Ctx, sc sessionConf) (string, bool) {
	id, ok := s.verify(sc, c.Cookies(sc.cookieName()))
	if !ok {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[id]
	if !ok {
		return "", false
	}
	if !time.Now().Before(sess.expires) {
		delete(s.m, id)
		return "", false
	}
	return sess.developerID, true
}

// destroy ends the request's session and clears its cookie.
func (s *sessions) destroy(c *fiber.Ctx, sc sessionConf) {
	if id, ok := s.verify(sc, c.Cookies(sc.cookieName())); ok {
		s.mu.Lock()
		delete(s.m, id)
		s.mu.Unlock()
	}
	c.Cookie(&fiber.Cookie{Name: sc.cookieName(), Value: "", Path: "/", HTTPOnly: true,
		Secure: sc.CookieSecure == nil || *sc.CookieSecure, SameSite: sc.sameSite(),
		Expires: time.Unix(0, 0), MaxAge: -1})
}

// expiresIn is the seconds the request's session has left (0 when none).
func (s *sessions) expiresIn(c *fiber.Ctx, sc sessionConf) (time.Time, bool) {
	id, ok := s.verify(sc, c.Cookies(sc.cookieName()))
	if !ok {
		return time.Time{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[id]
	return sess.expires, ok
}

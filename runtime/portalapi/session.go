package portalapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	gwconfig "github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/session"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

// The portal's sessions are runtime/session's, audience "portal": rows of
// the store's sessions entity (Kong forces storage "kong" on the portal),
// seen by every node on the database; the cookie holds a random id and
// its HMAC under the configuration's secret.

// defaultCookieName is the portal cookie's name when portal_session_conf
// gives none: Kong's <workspace>_portal_session.
const defaultCookieName = store.DefaultWorkspace + "_portal_session"

// maxManagers bounds the session configurations kept (one per distinct
// portal_session_conf seen; a change of the workspace's adds one).
const maxManagers = 16

// sessions holds a session.Manager per portal_session_conf.
type sessions struct {
	st *store.Store
	// secret signs cookies when the configuration gives none: random per
	// node, so such sessions do not cross nodes (a configuration should
	// set one).
	secret string
	mu     sync.Mutex
	m      map[string]*session.Manager
	// storage is where sessions live: st's sessions entity, or memory for
	// an API without a store.
	storage session.Storage
}

func newSessions(st *store.Store) *sessions {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw) // crypto/rand never fails on supported platforms
	s := &sessions{st: st, secret: hex.EncodeToString(raw), m: map[string]*session.Manager{}}
	if st != nil {
		s.storage = session.StoreStorage{Store: st}
	} else {
		s.storage = &session.MemoryStorage{}
	}
	return s
}

// portalSessionConf reads a portal_session_conf JSON object the portal's
// way: storage forced to kong, the cookie named
// default_portal_session when unnamed, the node's secret when none. A
// malformed object gives the defaults (the Admin API validated it).
func (s *sessions) portalSessionConf(conf string) gwconfig.SessionConf {
	var sc gwconfig.SessionConf
	if strings.TrimSpace(conf) != "" {
		if err := json.Unmarshal([]byte(conf), &sc); err != nil {
			sc = gwconfig.SessionConf{}
		}
	}
	sc.Storage = "kong"
	if sc.CookieName == "" {
		sc.CookieName = defaultCookieName
	}
	if sc.Secret == "" {
		sc.Secret = s.secret
	}
	return sc
}

// manager returns the Manager of a portal_session_conf.
func (s *sessions) manager(conf string) (*session.Manager, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.m[conf]; ok {
		return m, nil
	}
	m, err := session.New(s.portalSessionConf(conf), session.AudiencePortal, s.storage)
	if err != nil {
		return nil, fmt.Errorf("portal api: session configuration: %w", err)
	}
	if len(s.m) >= maxManagers {
		clear(s.m)
	}
	s.m[conf] = m
	return m, nil
}

// start opens a session for the developer and sets its cookie.
func (s *sessions) start(c *fiber.Ctx, conf, developerID string) error {
	m, err := s.manager(conf)
	if err != nil {
		return err
	}
	cookie, err := m.Start(c.UserContext(), developerID)
	if err != nil {
		return err
	}
	c.Append(fiber.HeaderSetCookie, cookie.String())
	return nil
}

// load returns the request's live session (ok false: none); a renewed
// session's cookie is set again. err is a storage failure.
func (s *sessions) load(c *fiber.Ctx, conf string) (session.Session, *session.Manager, bool, error) {
	m, err := s.manager(conf)
	if err != nil {
		return session.Session{}, nil, false, err
	}
	sess, ok, err := m.LoadHeader(c.UserContext(), c.Get(fiber.HeaderCookie))
	if err != nil || !ok {
		return session.Session{}, m, false, err
	}
	if sess.Cookie != nil {
		c.Append(fiber.HeaderSetCookie, sess.Cookie.String())
	}
	return sess, m, true, nil
}

// destroy ends the request's sessions and clears the cookie.
func (s *sessions) destroy(c *fiber.Ctx, conf string) error {
	m, err := s.manager(conf)
	if err != nil {
		return err
	}
	clearCookie, err := m.DestroyHeader(c.UserContext(), c.Get(fiber.HeaderCookie))
	if err != nil {
		return err
	}
	c.Append(fiber.HeaderSetCookie, clearCookie.String())
	return nil
}

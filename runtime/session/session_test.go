package session_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/session"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func f(v float64) *float64 { return &v }
func b(v bool) *bool       { return &v }

// conf returns a session configuration with storage and the given
// timeouts (seconds; nil leaves Kong's default).
func conf(storage string, rolling, idling, absolute *float64) config.SessionConf {
	return config.SessionConf{Secret: "s3cret", Storage: storage, RollingTimeout: rolling, IdlingTimeout: idling,
		AbsoluteTimeout: absolute}
}

func newManager(t *testing.T, sc config.SessionConf, aud string, st session.Storage, clk *clock) *session.Manager {
	t.Helper()
	m, err := session.New(sc, aud, st, session.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestNew: the configuration errors New refuses.
func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		sc   config.SessionConf
		aud  string
		st   session.Storage
		want string
	}{
		{"no secret", config.SessionConf{Storage: "kong"}, "admin", &session.MemoryStorage{}, "no secret"},
		{"no audience", config.SessionConf{Secret: "x"}, "", nil, "invalid audience"},
		{"dotted audience", config.SessionConf{Secret: "x"}, "a.b", nil, "invalid audience"},
		{"kong without storage", config.SessionConf{Secret: "x", Storage: "kong"}, "admin", nil, "needs a Storage"},
		{"cookie without storage", config.SessionConf{Secret: "x"}, "admin", nil, ""},
		{"kong", config.SessionConf{Secret: "x", Storage: "kong"}, "portal", &session.MemoryStorage{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := session.New(tc.sc, tc.aud, tc.st)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("New() error = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestLifecycle: start, load, destroy, for both storages.
func TestLifecycle(t *testing.T) {
	for _, storage := range []string{"kong", "cookie"} {
		t.Run(storage, func(t *testing.T) {
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			mem := &session.MemoryStorage{Now: clk.Now}
			m := newManager(t, conf(storage, nil, nil, nil), session.AudienceAdmin, mem, clk)
			ctx := context.Background()
			c, err := m.Start(ctx, "admin-1")
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != "session" || c.Path != "/" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode ||
				!c.Expires.IsZero() || c.MaxAge != 0 {
				t.Errorf("cookie = %+v, want Kong's defaults (session, /, HttpOnly, Secure, Strict, no expiry)", c)
			}
			if err := c.Valid(); err != nil {
				t.Errorf("cookie invalid: %v", err)
			}
			s, ok, err := m.Load(ctx, c.Value)
			if err != nil || !ok || s.Subject != "admin-1" {
				t.Fatalf("Load() = %+v, %v, %v", s, ok, err)
			}
			// idling 900 s is the earliest end.
			if want := clk.Now().Add(900 * time.Second); !s.Expires.Equal(want) {
				t.Errorf("Expires = %v, want %v", s.Expires, want)
			}
			// The cookie header form finds it among other cookies.
			hdr := "other=1; " + c.Name + "=garbage; " + c.Name + "=" + c.Value
			if s, ok, err := m.LoadHeader(ctx, hdr); err != nil || !ok || s.Subject != "admin-1" {
				t.Errorf("LoadHeader() = %+v, %v, %v", s, ok, err)
			}
			if storage == "kong" && mem.Len() != 1 {
				t.Errorf("stored sessions = %d, want 1", mem.Len())
			}
			clear, err := m.Destroy(ctx, c.Value)
			if err != nil {
				t.Fatal(err)
			}
			if clear.Name != "session" || clear.Value != "" || clear.MaxAge >= 0 ||
				!strings.Contains(clear.String(), "Max-Age=0") {
				t.Errorf("clearing cookie = %q", clear.String())
			}
			_, ok, err = m.Load(ctx, c.Value)
			if err != nil {
				t.Fatal(err)
			}
			// Server-side sessions end everywhere; a cookie-stored one
			// stays valid for whoever kept the value (as in Kong).
			if want := storage == "cookie"; ok != want {
				t.Errorf("Load() after Destroy ok = %v, want %v", ok, want)
			}
			if storage == "kong" && mem.Len() != 0 {
				t.Errorf("stored sessions after Destroy = %d, want 0", mem.Len())
			}
		})
	}
}

// TestRefused: forged, altered, foreign and malformed values are refused
// without an error, and a forged server-side cookie costs no store read.
func TestRefused(t *testing.T) {
	for _, storage := range []string{"kong", "cookie"} {
		t.Run(storage, func(t *testing.T) {
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			mem := &countingStorage{MemoryStorage: session.MemoryStorage{Now: clk.Now}}
			ctx := context.Background()
			admin := newManager(t, conf(storage, nil, nil, nil), session.AudienceAdmin, mem, clk)
			portal := newManager(t, conf(storage, nil, nil, nil), session.AudiencePortal, mem, clk)
			other := conf(storage, nil, nil, nil)
			other.Secret = "another"
			otherSecret := newManager(t, other, session.AudienceAdmin, mem, clk)
			good, err := admin.Start(ctx, "admin-1")
			if err != nil {
				t.Fatal(err)
			}
			portalCookie, err := portal.Start(ctx, "dev-1")
			if err != nil {
				t.Fatal(err)
			}
			foreign, err := otherSecret.Start(ctx, "admin-1")
			if err != nil {
				t.Fatal(err)
			}
			flip := []byte(good.Value)
			if flip[5] == 'A' {
				flip[5] = 'B'
			} else {
				flip[5] = 'A'
			}
			for _, tc := range []struct{ name, value string }{
				{"empty", ""},
				{"garbage", "not-a-session"},
				{"altered", string(flip)},
				{"truncated", good.Value[:len(good.Value)-2]},
				{"portal audience", portalCookie.Value},
				{"other secret", foreign.Value},
				{"huge", strings.Repeat("A", 5000)},
				{"forged id", base64.RawURLEncoding.EncodeToString(make([]byte, 32)) + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32))},
			} {
				before := mem.reads()
				s, ok, err := admin.Load(ctx, tc.value)
				if ok || err != nil {
					t.Errorf("%s: Load() = %+v, %v, %v; want refused", tc.name, s, ok, err)
				}
				if tc.name != "portal audience" && mem.reads() != before {
					t.Errorf("%s: a refused cookie read the store", tc.name)
				}
			}
			if s, ok, _ := portal.Load(ctx, portalCookie.Value); !ok || s.Subject != "dev-1" {
				t.Errorf("the portal's own session refused: %+v %v", s, ok)
			}
			if _, ok, _ := admin.Load(ctx, good.Value); !ok {
				t.Error("the good cookie is refused")
			}
		})
	}
}

// countingStorage counts reads.
type countingStorage struct {
	session.MemoryStorage
	mu sync.Mutex
	n  int
}

func (c *countingStorage) Get(ctx context.Context, id string) (session.Record, bool, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.MemoryStorage.Get(ctx, id)
}

func (c *countingStorage) reads() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

// TestTimeouts: idling, rolling (with renewal) and absolute timeouts end
// sessions at the right time.
func TestTimeouts(t *testing.T) {
	type step struct {
		wait   time.Duration
		wantOK bool
	}
	for _, tc := range []struct {
		name                      string
		rolling, idling, absolute *float64
		steps                     []step
	}{
		{"idle ends", nil, f(60), nil, []step{{59 * time.Second, true}, {61 * time.Second, false}}},
		{"use keeps idle alive", nil, f(60), nil, []step{{50 * time.Second, true}, {50 * time.Second, true}, {50 * time.Second, true}}},
		{"rolling ends without renewal window use", f(100), f(0), f(0), []step{{101 * time.Second, false}}},
		{"rolling renewed in its last quarter", f(100), f(0), f(0),
			[]step{{80 * time.Second, true}, {80 * time.Second, true}, {80 * time.Second, true}}},
		{"rolling not renewed before its last quarter", f(100), f(0), f(0),
			[]step{{50 * time.Second, true}, {51 * time.Second, false}}},
		{"absolute caps renewal", f(100), f(0), f(200),
			[]step{{80 * time.Second, true}, {80 * time.Second, true}, {39 * time.Second, true}, {2 * time.Second, false}}},
		{"no limits", f(0), f(0), f(0), []step{{1000 * time.Hour, true}}},
	} {
		for _, storage := range []string{"kong", "cookie"} {
			t.Run(tc.name+"/"+storage, func(t *testing.T) {
				clk := &clock{t: time.Unix(1_700_000_000, 0)}
				mem := &session.MemoryStorage{Now: clk.Now}
				m := newManager(t, conf(storage, tc.rolling, tc.idling, tc.absolute), "admin", mem, clk)
				ctx := context.Background()
				c, err := m.Start(ctx, "a")
				if err != nil {
					t.Fatal(err)
				}
				value := c.Value
				for i, st := range tc.steps {
					clk.Add(st.wait)
					s, ok, err := m.Load(ctx, value)
					if err != nil {
						t.Fatal(err)
					}
					if ok != st.wantOK {
						t.Fatalf("step %d (+%v): ok = %v, want %v", i, st.wait, ok, st.wantOK)
					}
					if s.Cookie != nil {
						if storage == "kong" {
							t.Errorf("step %d: a server-side session re-issued its cookie without remember", i)
						}
						value = s.Cookie.Value
					}
				}
			})
		}
	}
}

// TestInfo: the /userinfo session block.
func TestInfo(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	m := newManager(t, conf("kong", nil, nil, nil), "admin", &session.MemoryStorage{Now: clk.Now}, clk)
	ctx := context.Background()
	c, err := m.Start(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	s, _, _ := m.Load(ctx, c.Value)
	in := m.Info(s)
	want := session.Info{IdlingTimeout: 900, RollingTimeout: 3600, AbsoluteTimeout: 86400, StaleTTL: 10,
		ExpiresIn: 900, Expires: 1_700_000_900,
		Cookie: session.InfoCookie{Discard: 10, Renew: 600, Idletime: 900, Lifetime: 3600}}
	if in != want {
		t.Errorf("Info() = %+v, want %+v", in, want)
	}
}

// TestCookieAttributes: the configuration's cookie attributes, 2.x and
// 3.x names.
func TestCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		name string
		sc   config.SessionConf
		want []string
		not  []string
	}{
		{"seed", config.SessionConf{Secret: "x", Storage: "kong", CookieSecure: b(false)},
			[]string{"session=", "Path=/", "HttpOnly", "SameSite=Strict"}, []string{"Secure", "Expires"}},
		{"portal", config.SessionConf{Secret: "x", CookieName: "portal_session", CookieSameSite: "off"},
			[]string{"portal_session=", "SameSite=Lax", "Secure"}, nil},
		{"3.x names", config.SessionConf{Secret: "x", CookieSameSite3: "None", CookieSameSite: "Lax",
			CookieHTTPOnly: b(false), CookiePath: "/manager", CookieDomain: "example.test"},
			[]string{"SameSite=None", "Path=/manager", "Domain=example.test"}, []string{"HttpOnly", "SameSite=Lax"}},
		{"remember", config.SessionConf{Secret: "x", Remember: true}, []string{"Expires="}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Now()}
			m := newManager(t, tc.sc, "portal", &session.MemoryStorage{}, clk)
			c, err := m.Start(context.Background(), "x")
			if err != nil {
				t.Fatal(err)
			}
			s := c.String()
			for _, w := range tc.want {
				if !strings.Contains(s, w) {
					t.Errorf("cookie %q lacks %q", s, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(s, n) {
					t.Errorf("cookie %q has %q", s, n)
				}
			}
		})
	}
}

// TestStoreStorage: sessions kept in the store (SQLite here;
// conformance/kongmanager runs the same flow on Postgres) are seen by a
// second Manager on the same database, and end there when destroyed.
func TestStoreStorage(t *testing.T) {
	ctx := context.Background()
	bk, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bk.Close() })
	st := store.New(bk, store.Options{})
	sc := conf("kong", nil, f(30), nil)
	node1, err := session.New(sc, "admin", session.StoreStorage{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	node2, err := session.New(sc, "admin", session.StoreStorage{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	c, err := node1.Start(ctx, "admin-1")
	if err != nil {
		t.Fatal(err)
	}
	s, ok, err := node2.Load(ctx, c.Value)
	if err != nil || !ok || s.Subject != "admin-1" {
		t.Fatalf("node2 Load() = %+v, %v, %v", s, ok, err)
	}
	// The row holds the digest of the id, never the cookie's id.
	page, err := st.List(ctx, session.SessionsEntity, store.ListQuery{})
	if err != nil || len(page.Data) != 1 {
		t.Fatalf("List() = %v, %v", page, err)
	}
	row := page.Data[0]
	id, _, _ := strings.Cut(c.Value, ".")
	if row["session_id"] == id || strings.Contains(row["session_id"].(string), id) || row["audience"] != "admin" {
		t.Errorf("stored row = %v", row)
	}
	if ttl, _ := row["ttl"].(int64); ttl < 30 || ttl > 30+10+1 {
		t.Errorf("row ttl = %v, want the idling timeout plus stale_ttl", row["ttl"])
	}
	if _, err := node2.Destroy(ctx, c.Value); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := node1.Load(ctx, c.Value); ok || err != nil {
		t.Errorf("node1 Load() after node2 Destroy = %v, %v", ok, err)
	}
	// A use after the touch interval updates the row (fake clock: the
	// store's own expiry runs on real time, far from the row's ttl).
	clk := &clock{t: time.Now()}
	node3, err := session.New(conf("kong", nil, f(60), nil), "admin", session.StoreStorage{Store: st}, session.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := node3.Start(ctx, "admin-2")
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(20 * time.Second)
	if s, ok, err := node3.Load(ctx, c2.Value); err != nil || !ok || !s.Expires.Equal(clk.Now().Add(60*time.Second)) {
		t.Fatalf("Load() after 20 s = %+v, %v, %v; want last_seen moved", s, ok, err)
	}
	clk.Add(50 * time.Second) // 70 s after start, 50 s after the touch
	if _, ok, err := node3.Load(ctx, c2.Value); err != nil || !ok {
		t.Fatalf("Load() 50 s after the touch = %v, %v", ok, err)
	}
	if err := (session.StoreStorage{Store: st}).Update(ctx, session.Record{ID: strings.Repeat("0", 64), Audience: "admin",
		Subject: "x"}, time.Second); err != session.ErrNotFound {
		t.Errorf("Update(missing) = %v, want ErrNotFound", err)
	}
}

// TestConcurrent: many goroutines load and renew one session (run with
// -race).
func TestConcurrent(t *testing.T) {
	// A fake clock moved by every use: the session is touched (stored
	// again) every 250 ms of it, concurrently. All the uses together move
	// the clock 0.8 s, less than the 1 s idling timeout, so a goroutine
	// holding a record read before others' touches can never see it idle
	// out however the goroutines are scheduled (with 10 ms a use, one
	// descheduled goroutine could, and under -race on a loaded machine
	// one did).
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	mem := &session.MemoryStorage{Now: clk.Now}
	m := newManager(t, conf("kong", nil, f(1), nil), "admin", mem, clk)
	ctx := context.Background()
	c, err := m.Start(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				clk.Add(500 * time.Microsecond)
				if _, ok, err := m.Load(ctx, c.Value); !ok || err != nil {
					errs <- fmt.Sprintf("refused at %v: %v", clk.Now(), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// 1.3 s after the start the session lives only if the concurrent
	// uses renewed it (the last touch was at 0.75 s or later).
	clk.Add(500 * time.Millisecond)
	if _, ok, err := m.Load(ctx, c.Value); !ok || err != nil {
		t.Errorf("1.3 s after the start: refused (%v); the concurrent uses did not renew it", err)
	}
}

// FuzzLoad feeds outside cookie values to Load: it never panics and never
// accepts a value it did not issue.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{"", "a.b", "AAAA.BBBB", strings.Repeat("A", 43) + "." + strings.Repeat("B", 43)} {
		f.Add(s)
	}
	kong, _ := session.New(config.SessionConf{Secret: "x", Storage: "kong"}, "admin", &session.MemoryStorage{})
	cookie, _ := session.New(config.SessionConf{Secret: "x"}, "admin", nil)
	f.Fuzz(func(t *testing.T, v string) {
		for _, m := range []*session.Manager{kong, cookie} {
			if _, ok, err := m.Load(context.Background(), v); ok || err != nil {
				t.Errorf("Load(%q) = %v, %v", v, ok, err)
			}
			m.Values(v)
		}
	})
}

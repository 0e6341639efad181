package authn_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugins/authn"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

const (
	aliceID = "5f4e3d2c-1b0a-4988-8776-655443322110"
	anonID  = "0A1B2C3D-4E5F-4A6B-8C7D-8E9F0A1B2C3D"
)

// fixture has consumer alice with a credential, an anonymous consumer, a
// consumer whose username looks like a UUID, and a credential without a
// consumer.
type fixture struct {
	env                  *plugintest.Env
	alice, cred, orphan  hostabi.Entity
	anon, uuidNamed, odd hostabi.Entity
}

func newFixture() *fixture {
	env := plugintest.NewEnv()
	f := &fixture{env: env}
	f.alice = env.AddConsumer(hostabi.Entity{"id": aliceID, "username": "alice", "custom_id": "a-1"})
	f.cred = env.AddCredential("test_credentials", f.alice, hostabi.Entity{"token": "good", "name": "alice-token"})
	f.orphan = env.AddCredential("test_credentials", nil, hostabi.Entity{"token": "orphan"})
	f.anon = env.AddConsumer(hostabi.Entity{"id": anonID, "username": "anonymous"})
	f.uuidNamed = env.AddConsumer(hostabi.Entity{"username": "11111111-2222-3333-4444-555555555555"})
	f.odd = env.AddConsumer(hostabi.Entity{"username": "no-custom-id"})
	return f
}

// flow is a test plugin: the credential is the "token" query argument.
func flow(anonymous string) (*authn.Flow, authn.Check) {
	f := &authn.Flow{Plugin: "test-auth", Entity: "test_credentials", Field: "token",
		IdentifierField: "name", Anonymous: anonymous, Challenge: `Test realm="r"`}
	return f, func(k hostabi.Kong) (hostabi.Entity, *authn.Failure, error) {
		token, ok := k.Request().QueryArg("token")
		if !ok {
			return nil, &authn.Failure{Status: 401, Message: "No token"}, nil
		}
		cred, err := f.Credential(k, token)
		if err != nil {
			return nil, nil, err
		}
		if cred == nil {
			return nil, &authn.Failure{Status: 403, Message: "Bad token"}, nil
		}
		return cred, nil, nil
	}
}

// accessPlugin adapts a Flow to hostabi.Accessor for plugintest.
type accessPlugin struct {
	f     *authn.Flow
	check authn.Check
}

func (p accessPlugin) Access(k hostabi.Kong) error { return p.f.Access(k, p.check) }

func TestFlowAccess(t *testing.T) {
	boom := errors.New("database down")
	type want struct {
		status   int    // exit status; 0: not exited
		message  string // exit message
		consumer string // username of the identified consumer; "" for none
		credName string // X-Credential-Identifier
		anon     bool   // identified as the anonymous consumer
		err      string // substring of the returned error
		logged   bool   // an err log line
		noop     bool   // nothing done at all
	}
	cases := []struct {
		name      string
		anonymous string
		req       *plugintest.Request
		credErr   error
		consErr   error
		want      want
	}{
		{name: "authenticated", req: plugintest.NewRequest("GET", "/?token=good"),
			want: want{consumer: "alice", credName: "alice-token"}},
		{name: "failure answered", req: plugintest.NewRequest("GET", "/"),
			want: want{status: 401, message: "No token"}},
		{name: "failure status kept", req: plugintest.NewRequest("GET", "/?token=bad"),
			want: want{status: 403, message: "Bad token"}},
		{name: "credential without consumer", req: plugintest.NewRequest("GET", "/?token=orphan"),
			want: want{}},
		{name: "anonymous by upper-case id", anonymous: anonID, req: plugintest.NewRequest("GET", "/"),
			want: want{consumer: "anonymous", anon: true}},
		{name: "anonymous by username", anonymous: "anonymous", req: plugintest.NewRequest("GET", "/?token=bad"),
			want: want{consumer: "anonymous", anon: true}},
		{name: "anonymous UUID falls back to username", anonymous: "11111111-2222-3333-4444-555555555555",
			req: plugintest.NewRequest("GET", "/"), want: want{consumer: "11111111-2222-3333-4444-555555555555", anon: true}},
		{name: "anonymous with a valid credential", anonymous: anonID, req: plugintest.NewRequest("GET", "/?token=good"),
			want: want{consumer: "alice", credName: "alice-token"}},
		{name: "anonymous unknown", anonymous: "ghost", req: plugintest.NewRequest("GET", "/"),
			want: want{err: "test-auth: anonymous consumer ghost is configured but doesn't exist"}},
		{name: "logical OR: earlier credential", anonymous: anonID,
			req:  plugintest.NewRequest("GET", "/").WithIdentity(hostabi.Entity{"id": "x"}, hostabi.Entity{"id": "c"}),
			want: want{noop: true}},
		{name: "logical OR: anonymous identity does not count", anonymous: anonID,
			req:  plugintest.NewRequest("GET", "/?token=good").WithIdentity(hostabi.Entity{"id": "x"}, nil),
			want: want{consumer: "alice", credName: "alice-token"}},
		{name: "logical AND: earlier credential does not help",
			req:  plugintest.NewRequest("GET", "/").WithIdentity(hostabi.Entity{"id": "x"}, hostabi.Entity{"id": "c"}),
			want: want{status: 401, message: "No token"}},
		{name: "credential lookup error", req: plugintest.NewRequest("GET", "/?token=good"), credErr: boom,
			want: want{err: "test-auth: loading credential: database down"}},
		{name: "credential lookup error with anonymous", anonymous: anonID, req: plugintest.NewRequest("GET", "/?token=good"), credErr: boom,
			want: want{err: "test-auth: loading credential: database down"}},
		{name: "consumer lookup error", req: plugintest.NewRequest("GET", "/?token=good"), consErr: boom,
			want: want{err: "test-auth: loading consumer: database down"}},
		{name: "consumer lookup error with anonymous", anonymous: "anonymous", req: plugintest.NewRequest("GET", "/?token=good"), consErr: boom,
			want: want{err: "test-auth: loading anonymous consumer: database down", logged: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture()
			fx.env.CredentialErr, fx.env.ConsumerErr = tc.credErr, tc.consErr
			f, check := flow(tc.anonymous)
			res := fx.env.Run(t, accessPlugin{f, check}, hostabi.PhaseAccess, tc.req)
			w := tc.want
			logged := false
			for _, l := range res.Logs {
				logged = logged || l.Level == "err" && strings.HasPrefix(l.Msg, "test-auth: authentication failed")
			}
			if logged != w.logged {
				t.Errorf("err logged = %v, want %v (%v)", logged, w.logged, res.Logs)
			}
			if w.err != "" {
				if res.Err == nil || !strings.Contains(res.Err.Error(), w.err) || (tc.credErr != nil || tc.consErr != nil) && !errors.Is(res.Err, boom) {
					t.Fatalf("err = %v, want %q", res.Err, w.err)
				}
				if res.Exited || len(res.AuthCalls) != 0 {
					t.Errorf("exited %v, auth calls %v", res.Exited, res.AuthCalls)
				}
				return
			}
			if res.Err != nil {
				t.Fatalf("unexpected error: %v", res.Err)
			}
			if w.noop {
				if res.Exited || len(res.AuthCalls) != 0 || len(res.HeaderOps) != 0 {
					t.Errorf("acted: %+v", res)
				}
				return
			}
			if w.status != 0 {
				if !res.Exited || res.Status != w.status || res.ExitMessage() != w.message {
					t.Fatalf("exit %v %d %s, want %d %q", res.Exited, res.Status, res.ExitBody, w.status, w.message)
				}
				if got := res.ExitHeaders["WWW-Authenticate"]; got != `Test realm="r"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				if len(res.AuthCalls) != 0 {
					t.Errorf("authenticated on failure: %v", res.AuthCalls)
				}
				return
			}
			if res.Exited || len(res.AuthCalls) != 1 {
				t.Fatalf("exited %v, auth calls %v", res.Exited, res.AuthCalls)
			}
			if got, _ := res.Consumer["username"].(string); got != w.consumer {
				t.Errorf("consumer = %v, want %q", res.Consumer, w.consumer)
			}
			if got := res.UpstreamHeader("X-Credential-Identifier"); got != w.credName {
				t.Errorf("X-Credential-Identifier = %q, want %q", got, w.credName)
			}
			if got := res.HasUpstreamHeader("X-Anonymous-Consumer"); got != w.anon || w.anon != (res.Credential == nil) {
				t.Errorf("anonymous header %v credential %v, want anonymous %v", got, res.Credential, w.anon)
			}
		})
	}
}

func TestIdentify(t *testing.T) {
	full := hostabi.Entity{"id": "c1", "custom_id": "cust", "username": "u"}
	cred := hostabi.Entity{"id": "k1", "username": "login"}
	// The headers Identify sets, in order; a "" value means cleared.
	names := []string{"X-Consumer-ID", "X-Consumer-Custom-ID", "X-Consumer-Username", "X-Credential-Identifier", "X-Anonymous-Consumer"}
	cases := []struct {
		name                 string
		consumer, credential hostabi.Entity
		field                string
		want                 [5]string // values of names
	}{
		{"consumer and credential", full, cred, "id", [5]string{"c1", "cust", "u", "k1", ""}},
		{"credential identified by username", full, cred, "username", [5]string{"c1", "cust", "u", "login", ""}},
		{"empty fields are cleared", hostabi.Entity{"id": "c2"}, cred, "id", [5]string{"c2", "", "", "k1", ""}},
		{"anonymous", full, nil, "", [5]string{"c1", "cust", "u", "", "true"}},
		{"credential without consumer", nil, cred, "id", [5]string{"", "", "", "k1", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/"))
			authn.Identify(k, tc.consumer, tc.credential, tc.field)
			res := k.Result()
			var want []plugintest.HeaderOp
			for i, n := range names {
				if v := tc.want[i]; v != "" {
					want = append(want, plugintest.HeaderOp{Op: "set", Name: n, Value: v})
				} else {
					want = append(want, plugintest.HeaderOp{Op: "clear", Name: n})
				}
			}
			if !reflect.DeepEqual(res.HeaderOps, want) {
				t.Errorf("header ops = %+v\nwant %+v", res.HeaderOps, want)
			}
			if len(res.AuthCalls) != 1 || !reflect.DeepEqual(res.AuthCalls[0], plugintest.AuthCall{Consumer: tc.consumer, Credential: tc.credential}) {
				t.Errorf("auth calls = %v", res.AuthCalls)
			}
		})
	}
}

func TestLoadAnonymous(t *testing.T) {
	fx := newFixture()
	for _, tc := range []struct {
		anonymous string
		want      hostabi.Entity
	}{
		{anonID, fx.anon},
		{"anonymous", fx.anon},
		{"alice", fx.alice},
		{"11111111-2222-3333-4444-555555555555", fx.uuidNamed},
		{"ghost", nil},
		{"99999999-2222-3333-4444-555555555555", nil},
	} {
		k := fx.env.NewKong(plugintest.NewRequest("GET", "/"))
		got, err := authn.LoadAnonymous(k, tc.anonymous)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("LoadAnonymous(%q) = %v, %v; want %v", tc.anonymous, got, err, tc.want)
		}
	}
}

func TestIsUUID(t *testing.T) {
	for s, want := range map[string]bool{
		aliceID:                                 true,
		anonID:                                  true,
		"5f4e3d2c1b0a49888776655443322110":      false,
		"5f4e3d2c-1b0a-4988-8776-65544332211":   false,
		"5f4e3d2c-1b0a-4988-8776-6554433221100": false,
		"5f4e3d2c-1b0a-4988-8776_655443322110":  false,
		"5f4e3d2g-1b0a-4988-8776-655443322110":  false,
		"":                                      false,
	} {
		if got := authn.IsUUID(s); got != want {
			t.Errorf("IsUUID(%q) = %v", s, got)
		}
	}
}

func TestForeignID(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{map[string]any{"id": "x"}, "x"},
		{map[string]any{"id": 5}, ""},
		{map[string]any{}, ""},
		{nil, ""},
		{"x", ""},
	} {
		if got := authn.ForeignID(tc.v); got != tc.want {
			t.Errorf("ForeignID(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// TestFailureAnswer: a Failure's Body replaces {"message"}, its Challenge
// the flow's, and NoChallenge drops WWW-Authenticate.
func TestFailureAnswer(t *testing.T) {
	cases := []struct {
		name      string
		fail      authn.Failure
		body      string
		challenge string
	}{
		{"message", authn.Failure{Status: 401, Message: "m"}, `{"message":"m"}`, `Test realm="r"`},
		{"body", authn.Failure{Status: 401, Body: map[string]any{"exp": "token expired"}}, `{"exp":"token expired"}`, `Test realm="r"`},
		{"challenge", authn.Failure{Status: 401, Message: "m", Challenge: `Test error="x"`}, `{"message":"m"}`, `Test error="x"`},
		{"no challenge", authn.Failure{Status: 401, Message: "m", NoChallenge: true}, `{"message":"m"}`, ""},
	}
	f := newFixture()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fl := &authn.Flow{Plugin: "test-auth", Challenge: `Test realm="r"`}
			fail := tc.fail
			p := accessFunc(func(k hostabi.Kong) error {
				return fl.Access(k, func(hostabi.Kong) (hostabi.Entity, *authn.Failure, error) { return nil, &fail, nil })
			})
			res := f.env.Run(t, p, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/"))
			if res.Status != 401 || string(res.ExitBody) != tc.body {
				t.Fatalf("got %d %s", res.Status, res.ExitBody)
			}
			got, has := res.ExitHeaders["WWW-Authenticate"]
			if got != tc.challenge || has != (tc.challenge != "") {
				t.Errorf("WWW-Authenticate = %q (%v), want %q", got, has, tc.challenge)
			}
		})
	}
}

// accessFunc is a function as a hostabi.Accessor.
type accessFunc func(k hostabi.Kong) error

func (f accessFunc) Access(k hostabi.Kong) error { return f(k) }

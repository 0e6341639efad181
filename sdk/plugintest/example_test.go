package plugintest_test

import (
	"fmt"

	"github.com/gatehouse/gatehouse/hostabi"
	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// greeter is a tiny plugin: it rejects requests without a "name" query
// argument and tells the upstream who is calling otherwise.
type greeter struct{}

func (greeter) Access(k hostabi.Kong) error {
	name, ok := k.Request().QueryArg("name")
	if !ok {
		hostabi.JSONExit(k.Response(), 400, map[string]string{"message": "name required"}, nil)
		return nil
	}
	k.ServiceRequest().SetHeader("X-Greeting", "hello "+name)
	return nil
}

// In a test function, plugintest.Run(t, plugin, phase, req) does the same
// in one call and reports panics and missing phases through t.
func Example() {
	env := plugintest.NewEnv()

	k := env.NewKong(plugintest.NewRequest("GET", "/hi?name=ada"))
	if err := plugintest.Call(k, greeter{}, hostabi.PhaseAccess); err != nil {
		panic(err)
	}
	res := k.Result()
	fmt.Println(res.Exited, res.UpstreamHeader("x-greeting"))

	k = env.NewKong(plugintest.NewRequest("GET", "/hi"))
	_ = plugintest.Call(k, greeter{}, hostabi.PhaseAccess)
	res = k.Result()
	fmt.Println(res.Exited, res.Status, res.ExitMessage(), res.ExitHeaders["Content-Type"])
	// Output:
	// false hello ada
	// true 400 name required application/json; charset=utf-8
}

// An Env keeps consumers, credentials and the cache across requests.
func ExampleEnv() {
	env := plugintest.NewEnv()
	alice := env.AddConsumer(hostabi.Entity{"username": "alice"})
	env.AddCredential(keyauth.CredentialEntity, alice, hostabi.Entity{"key": "s3cret"})

	lookup := pluginFunc(func(k hostabi.Kong) error {
		cred, err := k.Credentials().Credential(k.Context(), "keyauth_credentials", "key", k.Request().Header("apikey"))
		if err != nil || cred == nil {
			return err
		}
		consumer, err := k.Client().LoadConsumer(k.Context(), cred["consumer"].(map[string]any)["id"].(string), false)
		k.Client().Authenticate(consumer, cred)
		return err
	})
	k := env.NewKong(plugintest.NewRequest("GET", "/").WithHeader("ApiKey", "s3cret"))
	if err := plugintest.Call(k, lookup, hostabi.PhaseAccess); err != nil {
		panic(err)
	}
	res := k.Result()
	fmt.Println(res.Consumer["username"], len(res.AuthCalls), env.CredentialLookups())
	// Output:
	// alice 1 1
}

type pluginFunc func(k hostabi.Kong) error

func (f pluginFunc) Access(k hostabi.Kong) error { return f(k) }

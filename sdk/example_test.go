package sdk_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// HelloConfig is the configuration of the example plugin.
type HelloConfig struct {
	Greeting string   `json:"greeting" default:"Hello"`
	Allowed  []string `json:"allowed" required:"true"`
}

// Hello is a plugin: keep it in a variable, register it from init in the
// Wasm build (sdk.Register(Hello)), and test it natively with Provide.
var Hello = sdk.Plugin[HelloConfig]{
	Version:  "1.0.0",
	Priority: 1000,
	Access: func(k sdk.Kong, c *HelloConfig) error {
		name, _ := k.Request().QueryArg("name")
		for _, a := range c.Allowed {
			if a == name {
				k.ServiceRequest().SetHeader("X-Greeting", c.Greeting+", "+name)
				return nil
			}
		}
		sdk.JSONExit(k, 403, map[string]string{"message": "not on the list"}, nil)
		return nil
	},
}

// A plugin runs natively on sdk/plugintest's fake request: the same code
// as the Wasm build, over hostabi.Kong.
func Example() {
	pp, err := Hello.Provide("hello")
	if err != nil {
		panic(err)
	}
	inst, err := plugintest.TryProvided(pp, map[string]any{"allowed": []any{"ada"}})
	if err != nil {
		panic(err)
	}
	env := plugintest.NewEnv()
	for _, path := range []string{"/?name=ada", "/?name=bob"} {
		k := env.NewKong(plugintest.NewRequest("GET", path))
		if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
			panic(err)
		}
		res := k.Result()
		fmt.Printf("exited=%v status=%d greeting=%q message=%q\n", res.Exited, res.Status, res.UpstreamHeader("X-Greeting"), res.ExitMessage())
	}
	// Output:
	// exited=false status=200 greeting="Hello, ada" message=""
	// exited=true status=403 greeting="" message="not on the list"
}

// The Kong schema the SDK generates from a configuration struct, as
// /schemas/plugins/NAME shows it under config.
func ExampleSchemaOf() {
	type Config struct {
		Header string   `json:"header" default:"x-api-key"`
		Keys   []string `json:"keys" required:"true" len_min:"1"`
		Mode   string   `json:"mode" one_of:"strict,lenient" default:"strict"`
		Limit  int      `json:"limit" between:"1,100"`
	}
	f, err := sdk.SchemaOf[Config]()
	if err != nil {
		panic(err)
	}
	for _, field := range f.Kong()["fields"].([]any) {
		b, _ := json.Marshal(field)
		fmt.Println(string(b))
	}
	// Output:
	// {"header":{"default":"x-api-key","type":"string"}}
	// {"keys":{"elements":{"type":"string"},"len_min":1,"required":true,"type":"array"}}
	// {"mode":{"default":"strict","one_of":["strict","lenient"],"type":"string"}}
	// {"limit":{"between":[1,100],"type":"integer"}}
}

// Decode is what the configure export does with the configuration the
// host gives: defaults, the schema's rules, then Validate.
func ExamplePlugin_Decode() {
	p := sdk.Plugin[HelloConfig]{Validate: func(c *HelloConfig) error {
		if len(c.Allowed) > 2 {
			return fmt.Errorf("allowed: at most 2 names")
		}
		return nil
	}}
	c, err := p.Decode([]byte(`{"allowed":["ada"],"route_id":"injected by the node"}`))
	fmt.Println(c.Greeting, c.Allowed, err)
	_, err = p.Decode([]byte(`{}`))
	fmt.Println(err)
	_, err = p.Decode([]byte(`{"allowed":["a","b","c"]}`))
	fmt.Println(err)
	// Output:
	// Hello [ada] <nil>
	// allowed: required field missing
	// allowed: at most 2 names
}

// GetOrLoad loads a value once for every concurrent caller of the node
// and caches it; later calls read the cache.
func ExampleGetOrLoad() {
	loads := 0
	p := sdk.Plugin[struct{}]{Access: func(k sdk.Kong, _ *struct{}) error {
		v, err := sdk.GetOrLoad(k, "answer", time.Minute, func() (int, error) {
			loads++
			return 42, nil
		})
		k.ServiceRequest().SetHeader("X-Answer", fmt.Sprint(v))
		return err
	}}
	pp, _ := p.Provide("answer")
	inst, _ := plugintest.TryProvided(pp, nil)
	env := plugintest.NewEnv() // one node: its cache outlives requests
	for i := 0; i < 3; i++ {
		k := env.NewKong(plugintest.NewRequest("GET", "/"))
		if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
			panic(err)
		}
		fmt.Println(k.Result().UpstreamHeader("X-Answer"))
	}
	fmt.Println("loads:", loads)
	// Output:
	// 42
	// 42
	// 42
	// loads: 1
}

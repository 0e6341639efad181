package plugins_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/conformance/plugins"
	"github.com/gatehouse/gatehouse/conformance/plugins/native"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// nativeRuntime serves the scenario plugins written in Go.
var nativeRuntime = plugins.Runtime{Name: "native", Node: func(t *testing.T) (app.Options, map[string]string) {
	return app.Options{Plugins: native.Definitions()}, nil
}}

package luahost

import (
	"sync"

	lua "github.com/yuin/gopher-lua"
)

var builtinProtos sync.Map // name -> *lua.FunctionProto

// builtinProto compiles a built-in module once per process.
func builtinProto(name, src string) *lua.FunctionProto {
	if p, ok := builtinProtos.Load(name); ok {
		return p.(*lua.FunctionProto)
	}
	proto, err := compileSource([]byte(src), "="+name)
	if err != nil {
		panic("luahost: built-in module " + name + ": " + err.Error())
	}
	p, _ := builtinProtos.LoadOrStore(name, proto)
	return p.(*lua.FunctionProto)
}

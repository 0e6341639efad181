// Code generated from the phase list (see TestTypedPhases); DO NOT EDIT.

package luahost

import "github.com/gatehouse/gatehouse/hostabi"

type rewriteM struct{ in *instance }

// Rewrite runs the handler's rewrite method.
func (m rewriteM) Rewrite(k hostabi.Kong) error { return m.in.run(k, hostabi.PhaseRewrite) }

type accessM struct{ in *instance }

// Access runs the handler's access method.
func (m accessM) Access(k hostabi.Kong) error { return m.in.run(k, hostabi.PhaseAccess) }

type responseM struct{ in *instance }

// Response runs the handler's response method.
func (m responseM) Response(k hostabi.Kong) error { return m.in.run(k, hostabi.PhaseResponse) }

type headerM struct{ in *instance }

// HeaderFilter runs the handler's header_filter method.
func (m headerM) HeaderFilter(k hostabi.Kong) error { return m.in.run(k, hostabi.PhaseHeaderFilter) }

type bodyM struct{ in *instance }

// BodyFilter runs the handler's body_filter method.
func (m bodyM) BodyFilter(k hostabi.Kong, chunk []byte, eof bool) ([]byte, error) {
	return m.in.bodyFilter(k, chunk, eof)
}

type logM struct{ in *instance }

// Log runs the handler's log method.
func (m logM) Log(k hostabi.Kong) error { return m.in.run(k, hostabi.PhaseLog) }

type inst0 struct {
	*instance
}

type inst1 struct {
	*instance
	rewriteM
}

type inst2 struct {
	*instance
	accessM
}

type inst3 struct {
	*instance
	rewriteM
	accessM
}

type inst4 struct {
	*instance
	responseM
}

type inst5 struct {
	*instance
	rewriteM
	responseM
}

type inst6 struct {
	*instance
	accessM
	responseM
}

type inst7 struct {
	*instance
	rewriteM
	accessM
	responseM
}

type inst8 struct {
	*instance
	headerM
}

type inst9 struct {
	*instance
	rewriteM
	headerM
}

type inst10 struct {
	*instance
	accessM
	headerM
}

type inst11 struct {
	*instance
	rewriteM
	accessM
	headerM
}

type inst12 struct {
	*instance
	responseM
	headerM
}

type inst13 struct {
	*instance
	rewriteM
	responseM
	headerM
}

type inst14 struct {
	*instance
	accessM
	responseM
	headerM
}

type inst15 struct {
	*instance
	rewriteM
	accessM
	responseM
	headerM
}

type inst16 struct {
	*instance
	bodyM
}

type inst17 struct {
	*instance
	rewriteM
	bodyM
}

type inst18 struct {
	*instance
	accessM
	bodyM
}

type inst19 struct {
	*instance
	rewriteM
	accessM
	bodyM
}

type inst20 struct {
	*instance
	responseM
	bodyM
}

type inst21 struct {
	*instance
	rewriteM
	responseM
	bodyM
}

type inst22 struct {
	*instance
	accessM
	responseM
	bodyM
}

type inst23 struct {
	*instance
	rewriteM
	accessM
	responseM
	bodyM
}

type inst24 struct {
	*instance
	headerM
	bodyM
}

type inst25 struct {
	*instance
	rewriteM
	headerM
	bodyM
}

type inst26 struct {
	*instance
	accessM
	headerM
	bodyM
}

type inst27 struct {
	*instance
	rewriteM
	accessM
	headerM
	bodyM
}

type inst28 struct {
	*instance
	responseM
	headerM
	bodyM
}

type inst29 struct {
	*instance
	rewriteM
	responseM
	headerM
	bodyM
}

type inst30 struct {
	*instance
	accessM
	responseM
	headerM
	bodyM
}

type inst31 struct {
	*instance
	rewriteM
	accessM
	responseM
	headerM
	bodyM
}

type inst32 struct {
	*instance
	logM
}

type inst33 struct {
	*instance
	rewriteM
	logM
}

type inst34 struct {
	*instance
	accessM
	logM
}

type inst35 struct {
	*instance
	rewriteM
	accessM
	logM
}

type inst36 struct {
	*instance
	responseM
	logM
}

type inst37 struct {
	*instance
	rewriteM
	responseM
	logM
}

type inst38 struct {
	*instance
	accessM
	responseM
	logM
}

type inst39 struct {
	*instance
	rewriteM
	accessM
	responseM
	logM
}

type inst40 struct {
	*instance
	headerM
	logM
}

type inst41 struct {
	*instance
	rewriteM
	headerM
	logM
}

type inst42 struct {
	*instance
	accessM
	headerM
	logM
}

type inst43 struct {
	*instance
	rewriteM
	accessM
	headerM
	logM
}

type inst44 struct {
	*instance
	responseM
	headerM
	logM
}

type inst45 struct {
	*instance
	rewriteM
	responseM
	headerM
	logM
}

type inst46 struct {
	*instance
	accessM
	responseM
	headerM
	logM
}

type inst47 struct {
	*instance
	rewriteM
	accessM
	responseM
	headerM
	logM
}

type inst48 struct {
	*instance
	bodyM
	logM
}

type inst49 struct {
	*instance
	rewriteM
	bodyM
	logM
}

type inst50 struct {
	*instance
	accessM
	bodyM
	logM
}

type inst51 struct {
	*instance
	rewriteM
	accessM
	bodyM
	logM
}

type inst52 struct {
	*instance
	responseM
	bodyM
	logM
}

type inst53 struct {
	*instance
	rewriteM
	responseM
	bodyM
	logM
}

type inst54 struct {
	*instance
	accessM
	responseM
	bodyM
	logM
}

type inst55 struct {
	*instance
	rewriteM
	accessM
	responseM
	bodyM
	logM
}

type inst56 struct {
	*instance
	headerM
	bodyM
	logM
}

type inst57 struct {
	*instance
	rewriteM
	headerM
	bodyM
	logM
}

type inst58 struct {
	*instance
	accessM
	headerM
	bodyM
	logM
}

type inst59 struct {
	*instance
	rewriteM
	accessM
	headerM
	bodyM
	logM
}

type inst60 struct {
	*instance
	responseM
	headerM
	bodyM
	logM
}

type inst61 struct {
	*instance
	rewriteM
	responseM
	headerM
	bodyM
	logM
}

type inst62 struct {
	*instance
	accessM
	responseM
	headerM
	bodyM
	logM
}

type inst63 struct {
	*instance
	rewriteM
	accessM
	responseM
	headerM
	bodyM
	logM
}

// typed wraps in in the type whose methods are exactly the phases of
// mask (bit i: the i-th of rewrite, access, response, header_filter,
// body_filter, log), so the chain runs only the phases the handler has.
func typed(in *instance, mask int) any {
	switch mask {
	case 0:
		return inst0{in}
	case 1:
		return inst1{in, rewriteM{in}}
	case 2:
		return inst2{in, accessM{in}}
	case 3:
		return inst3{in, rewriteM{in}, accessM{in}}
	case 4:
		return inst4{in, responseM{in}}
	case 5:
		return inst5{in, rewriteM{in}, responseM{in}}
	case 6:
		return inst6{in, accessM{in}, responseM{in}}
	case 7:
		return inst7{in, rewriteM{in}, accessM{in}, responseM{in}}
	case 8:
		return inst8{in, headerM{in}}
	case 9:
		return inst9{in, rewriteM{in}, headerM{in}}
	case 10:
		return inst10{in, accessM{in}, headerM{in}}
	case 11:
		return inst11{in, rewriteM{in}, accessM{in}, headerM{in}}
	case 12:
		return inst12{in, responseM{in}, headerM{in}}
	case 13:
		return inst13{in, rewriteM{in}, responseM{in}, headerM{in}}
	case 14:
		return inst14{in, accessM{in}, responseM{in}, headerM{in}}
	case 15:
		return inst15{in, rewriteM{in}, accessM{in}, responseM{in}, headerM{in}}
	case 16:
		return inst16{in, bodyM{in}}
	case 17:
		return inst17{in, rewriteM{in}, bodyM{in}}
	case 18:
		return inst18{in, accessM{in}, bodyM{in}}
	case 19:
		return inst19{in, rewriteM{in}, accessM{in}, bodyM{in}}
	case 20:
		return inst20{in, responseM{in}, bodyM{in}}
	case 21:
		return inst21{in, rewriteM{in}, responseM{in}, bodyM{in}}
	case 22:
		return inst22{in, accessM{in}, responseM{in}, bodyM{in}}
	case 23:
		return inst23{in, rewriteM{in}, accessM{in}, responseM{in}, bodyM{in}}
	case 24:
		return inst24{in, headerM{in}, bodyM{in}}
	case 25:
		return inst25{in, rewriteM{in}, headerM{in}, bodyM{in}}
	case 26:
		return inst26{in, accessM{in}, headerM{in}, bodyM{in}}
	case 27:
		return inst27{in, rewriteM{in}, accessM{in}, headerM{in}, bodyM{in}}
	case 28:
		return inst28{in, responseM{in}, headerM{in}, bodyM{in}}
	case 29:
		return inst29{in, rewriteM{in}, responseM{in}, headerM{in}, bodyM{in}}
	case 30:
		return inst30{in, accessM{in}, responseM{in}, headerM{in}, bodyM{in}}
	case 31:
		return inst31{in, rewriteM{in}, accessM{in}, responseM{in}, headerM{in}, bodyM{in}}
	case 32:
		return inst32{in, logM{in}}
	case 33:
		return inst33{in, rewriteM{in}, logM{in}}
	case 34:
		return inst34{in, accessM{in}, logM{in}}
	case 35:
		return inst35{in, rewriteM{in}, accessM{in}, logM{in}}
	case 36:
		return inst36{in, responseM{in}, logM{in}}
	case 37:
		return inst37{in, rewriteM{in}, responseM{in}, logM{in}}
	case 38:
		return inst38{in, accessM{in}, responseM{in}, logM{in}}
	case 39:
		return inst39{in, rewriteM{in}, accessM{in}, responseM{in}, logM{in}}
	case 40:
		return inst40{in, headerM{in}, logM{in}}
	case 41:
		return inst41{in, rewriteM{in}, headerM{in}, logM{in}}
	case 42:
		return inst42{in, accessM{in}, headerM{in}, logM{in}}
	case 43:
		return inst43{in, rewriteM{in}, accessM{in}, headerM{in}, logM{in}}
	case 44:
		return inst44{in, responseM{in}, headerM{in}, logM{in}}
	case 45:
		return inst45{in, rewriteM{in}, responseM{in}, headerM{in}, logM{in}}
	case 46:
		return inst46{in, accessM{in}, responseM{in}, headerM{in}, logM{in}}
	case 47:
		return inst47{in, rewriteM{in}, accessM{in}, responseM{in}, headerM{in}, logM{in}}
	case 48:
		return inst48{in, bodyM{in}, logM{in}}
	case 49:
		return inst49{in, rewriteM{in}, bodyM{in}, logM{in}}
	case 50:
		return inst50{in, accessM{in}, bodyM{in}, logM{in}}
	case 51:
		return inst51{in, rewriteM{in}, accessM{in}, bodyM{in}, logM{in}}
	case 52:
		return inst52{in, responseM{in}, bodyM{in}, logM{in}}
	case 53:
		return inst53{in, rewriteM{in}, responseM{in}, bodyM{in}, logM{in}}
	case 54:
		return inst54{in, accessM{in}, responseM{in}, bodyM{in}, logM{in}}
	case 55:
		return inst55{in, rewriteM{in}, accessM{in}, responseM{in}, bodyM{in}, logM{in}}
	case 56:
		return inst56{in, headerM{in}, bodyM{in}, logM{in}}
	case 57:
		return inst57{in, rewriteM{in}, headerM{in}, bodyM{in}, logM{in}}
	case 58:
		return inst58{in, accessM{in}, headerM{in}, bodyM{in}, logM{in}}
	case 59:
		return inst59{in, rewriteM{in}, accessM{in}, headerM{in}, bodyM{in}, logM{in}}
	case 60:
		return inst60{in, responseM{in}, headerM{in}, bodyM{in}, logM{in}}
	case 61:
		return inst61{in, rewriteM{in}, responseM{in}, headerM{in}, bodyM{in}, logM{in}}
	case 62:
		return inst62{in, accessM{in}, responseM{in}, headerM{in}, bodyM{in}, logM{in}}
	case 63:
		return inst63{in, rewriteM{in}, accessM{in}, responseM{in}, headerM{in}, bodyM{in}, logM{in}}
	}
	return in
}

package hostabi

import (
	"fmt"
	"strings"
)

// PhaseSet is a set of phases.
type PhaseSet uint16

// Phases returns the set of the given phases.
func Phases(ps ...Phase) PhaseSet {
	var s PhaseSet
	for _, p := range ps {
		s |= 1 << p
	}
	return s
}

// Has reports whether p is in the set.
func (s PhaseSet) Has(p Phase) bool { return s&(1<<p) != 0 }

// List returns the phases of the set in execution order (the request
// phases, then init_worker and configure).
func (s PhaseSet) List() []Phase {
	var out []Phase
	for p := PhaseRewrite; p <= PhaseConfigure; p++ {
		if s.Has(p) {
			out = append(out, p)
		}
	}
	return out
}

// String lists Kong's names of the phases, comma-separated.
func (s PhaseSet) String() string {
	names := make([]string, 0, 6)
	for _, p := range s.List() {
		names = append(names, p.String())
	}
	return strings.Join(names, ", ")
}

// The phase sets of Kong's PDK phase checks (kong/pdk/private/phases.lua),
// restricted to the phases Gatehouse runs.
var (
	// AllPhases is Kong's "request" alias: every request phase.
	AllPhases = Phases(PhaseRewrite, PhaseAccess, PhaseResponse, PhaseHeaderFilter, PhaseBodyFilter, PhaseLog)
	// RewriteAccess is where the upstream request can still change.
	RewriteAccess = Phases(PhaseRewrite, PhaseAccess)
	// BeforeContent is where the request body can be read.
	BeforeContent = Phases(PhaseRewrite, PhaseAccess, PhaseResponse)
	// ResponseSetters is where the client's response can still change
	// (Kong's rewrite_access_header).
	ResponseSetters = Phases(PhaseRewrite, PhaseAccess, PhaseResponse, PhaseHeaderFilter)
	// ResponseReaders is where a response exists (Kong's header_body_log).
	ResponseReaders = Phases(PhaseResponse, PhaseHeaderFilter, PhaseBodyFilter, PhaseLog)
	// AuthAndLater is where the route is known and the identity may be
	// read (Kong's AUTH_AND_LATER and the router's phases).
	AuthAndLater = Phases(PhaseAccess, PhaseResponse, PhaseHeaderFilter, PhaseBodyFilter, PhaseLog)
	// BodyPhases is where the whole response body is at hand.
	BodyPhases = Phases(PhaseResponse, PhaseBodyFilter)
	// PluginPhases are the phases of a plugin rather than of a request:
	// init_worker and configure. They get a context, no Kong, so no
	// operation of the table is allowed in them.
	PluginPhases = Phases(PhaseInitWorker, PhaseConfigure)
)

// Op is one operation of the ABI: a method of a facet of Kong.
type Op uint8

// The operations. Their names and phases are in Operations.
const (
	OpRequestScheme Op = iota
	OpRequestHost
	OpRequestPort
	OpRequestForwardedScheme
	OpRequestForwardedHost
	OpRequestForwardedPort
	OpRequestHTTPVersion
	OpRequestMethod
	OpRequestPath
	OpRequestRawPath
	OpRequestRawQuery
	OpRequestQueryArg
	OpRequestQuery
	OpRequestHeader
	OpRequestHeaderValues
	OpRequestHeaders
	OpRequestRawBody
	OpRequestBody

	OpServiceRequestSetScheme
	OpServiceRequestSetPath
	OpServiceRequestSetRawQuery
	OpServiceRequestSetQuery
	OpServiceRequestSetMethod
	OpServiceRequestSetHeader
	OpServiceRequestAddHeader
	OpServiceRequestClearHeader
	OpServiceRequestSetHeaders
	OpServiceRequestSetRawBody
	OpServiceRequestSetBody
	OpServiceRequestEnableBuffering

	OpServiceSetTarget
	OpServiceSetUpstream

	OpResponseStatus
	OpResponseSetStatus
	OpResponseHeader
	OpResponseHeaders
	OpResponseSetHeader
	OpResponseAddHeader
	OpResponseClearHeader
	OpResponseSource
	OpResponseExit
	OpResponseError
	OpResponseExited
	OpResponseRawBody
	OpResponseSetRawBody

	OpServiceResponseStatus
	OpServiceResponseHeader
	OpServiceResponseHeaders
	OpServiceResponseRawBody

	OpClientIP
	OpClientForwardedIP
	OpClientPort
	OpClientForwardedPort
	OpClientProtocol
	OpClientConsumer
	OpClientCredential
	OpClientAuthenticate
	OpClientLoadConsumer

	OpCtxSharedGet
	OpCtxSharedSet
	OpCtxSharedDelete
	OpCtxPluginGet
	OpCtxPluginSet
	OpCtxPluginDelete

	OpLog
	OpLogSerialize
	OpLogSetSerializeValue

	OpCacheGet
	OpCacheSet
	OpCacheLookup
	OpCacheFill
	OpCacheAbandon
	OpCacheInvalidate

	OpNodeID
	OpNodeHostname

	OpRouterRoute
	OpRouterService
	OpRouterURICaptures

	OpIPIsTrusted
	OpPluginID
	OpPluginName

	OpCredentialsCredential
	OpCredentialsConsumerCredentials

	OpClientTLSCertificateChain
	OpHTTPDo
	OpTimersAfter
	OpRequestVar

	OpDBSelect
	OpDBSelectBy
	OpDBPage
	OpDBInsert
	OpDBUpdate
	OpDBUpsert
	OpDBDelete

	numOps
)

// Operation is one row of the phase table.
type Operation struct {
	Op Op
	// Name is the operation's PDK name ("kong.response.exit").
	Name string
	// Phases are the phases the operation may be called in.
	Phases PhaseSet
}

var operations = [numOps]Operation{
	OpRequestScheme:          {Name: "kong.request.get_scheme", Phases: AllPhases},
	OpRequestHost:            {Name: "kong.request.get_host", Phases: AllPhases},
	OpRequestPort:            {Name: "kong.request.get_port", Phases: AllPhases},
	OpRequestForwardedScheme: {Name: "kong.request.get_forwarded_scheme", Phases: AllPhases},
	OpRequestForwardedHost:   {Name: "kong.request.get_forwarded_host", Phases: AllPhases},
	OpRequestForwardedPort:   {Name: "kong.request.get_forwarded_port", Phases: AllPhases},
	OpRequestHTTPVersion:     {Name: "kong.request.get_http_version", Phases: AllPhases},
	OpRequestMethod:          {Name: "kong.request.get_method", Phases: AllPhases},
	OpRequestPath:            {Name: "kong.request.get_path", Phases: AllPhases},
	OpRequestRawPath:         {Name: "kong.request.get_raw_path", Phases: AllPhases},
	OpRequestRawQuery:        {Name: "kong.request.get_raw_query", Phases: AllPhases},
	OpRequestQueryArg:        {Name: "kong.request.get_query_arg", Phases: AllPhases},
	OpRequestQuery:           {Name: "kong.request.get_query", Phases: AllPhases},
	OpRequestHeader:          {Name: "kong.request.get_header", Phases: AllPhases},
	OpRequestHeaderValues:    {Name: "kong.request.get_header_values", Phases: AllPhases},
	OpRequestHeaders:         {Name: "kong.request.get_headers", Phases: AllPhases},
	OpRequestRawBody:         {Name: "kong.request.get_raw_body", Phases: BeforeContent},
	OpRequestBody:            {Name: "kong.request.get_body", Phases: BeforeContent},

	OpServiceRequestSetScheme:       {Name: "kong.service.request.set_scheme", Phases: RewriteAccess},
	OpServiceRequestSetPath:         {Name: "kong.service.request.set_path", Phases: RewriteAccess},
	OpServiceRequestSetRawQuery:     {Name: "kong.service.request.set_raw_query", Phases: RewriteAccess},
	OpServiceRequestSetQuery:        {Name: "kong.service.request.set_query", Phases: RewriteAccess},
	OpServiceRequestSetMethod:       {Name: "kong.service.request.set_method", Phases: RewriteAccess},
	OpServiceRequestSetHeader:       {Name: "kong.service.request.set_header", Phases: RewriteAccess},
	OpServiceRequestAddHeader:       {Name: "kong.service.request.add_header", Phases: RewriteAccess},
	OpServiceRequestClearHeader:     {Name: "kong.service.request.clear_header", Phases: RewriteAccess},
	OpServiceRequestSetHeaders:      {Name: "kong.service.request.set_headers", Phases: RewriteAccess},
	OpServiceRequestSetRawBody:      {Name: "kong.service.request.set_raw_body", Phases: RewriteAccess},
	OpServiceRequestSetBody:         {Name: "kong.service.request.set_body", Phases: RewriteAccess},
	OpServiceRequestEnableBuffering: {Name: "kong.service.request.enable_buffering", Phases: RewriteAccess},

	OpServiceSetTarget:   {Name: "kong.service.set_target", Phases: RewriteAccess},
	OpServiceSetUpstream: {Name: "kong.service.set_upstream", Phases: Phases(PhaseAccess)},

	OpResponseStatus:      {Name: "kong.response.get_status", Phases: ResponseReaders},
	OpResponseSetStatus:   {Name: "kong.response.set_status", Phases: ResponseSetters},
	OpResponseHeader:      {Name: "kong.response.get_header", Phases: ResponseReaders},
	OpResponseHeaders:     {Name: "kong.response.get_headers", Phases: ResponseReaders},
	OpResponseSetHeader:   {Name: "kong.response.set_header", Phases: ResponseSetters},
	OpResponseAddHeader:   {Name: "kong.response.add_header", Phases: ResponseSetters},
	OpResponseClearHeader: {Name: "kong.response.clear_header", Phases: ResponseSetters},
	OpResponseSource:      {Name: "kong.response.get_source", Phases: ResponseReaders},
	OpResponseExit:        {Name: "kong.response.exit", Phases: ResponseSetters},
	OpResponseError:       {Name: "kong.response.error", Phases: ResponseSetters},
	OpResponseExited:      {Name: "kong.response.exited", Phases: AllPhases},
	OpResponseRawBody:     {Name: "kong.response.get_raw_body", Phases: BodyPhases},
	OpResponseSetRawBody:  {Name: "kong.response.set_raw_body", Phases: BodyPhases},

	OpServiceResponseStatus:  {Name: "kong.service.response.get_status", Phases: ResponseReaders},
	OpServiceResponseHeader:  {Name: "kong.service.response.get_header", Phases: ResponseReaders},
	OpServiceResponseHeaders: {Name: "kong.service.response.get_headers", Phases: ResponseReaders},
	OpServiceResponseRawBody: {Name: "kong.service.response.get_raw_body", Phases: ResponseReaders},

	OpClientIP:            {Name: "kong.client.get_ip", Phases: AllPhases},
	OpClientForwardedIP:   {Name: "kong.client.get_forwarded_ip", Phases: AllPhases},
	OpClientPort:          {Name: "kong.client.get_port", Phases: AllPhases},
	OpClientForwardedPort: {Name: "kong.client.get_forwarded_port", Phases: AllPhases},
	OpClientProtocol:      {Name: "kong.client.get_protocol", Phases: AuthAndLater},
	OpClientConsumer:      {Name: "kong.client.get_consumer", Phases: AuthAndLater},
	OpClientCredential:    {Name: "kong.client.get_credential", Phases: AuthAndLater},
	OpClientAuthenticate:  {Name: "kong.client.authenticate", Phases: Phases(PhaseAccess)},
	OpClientLoadConsumer:  {Name: "kong.client.load_consumer", Phases: AuthAndLater},

	OpCtxSharedGet:    {Name: "kong.ctx.shared.get", Phases: AllPhases},
	OpCtxSharedSet:    {Name: "kong.ctx.shared.set", Phases: AllPhases},
	OpCtxSharedDelete: {Name: "kong.ctx.shared.delete", Phases: AllPhases},
	OpCtxPluginGet:    {Name: "kong.ctx.plugin.get", Phases: AllPhases},
	OpCtxPluginSet:    {Name: "kong.ctx.plugin.set", Phases: AllPhases},
	OpCtxPluginDelete: {Name: "kong.ctx.plugin.delete", Phases: AllPhases},

	OpLog:                  {Name: "kong.log", Phases: AllPhases},
	OpLogSerialize:         {Name: "kong.log.serialize", Phases: Phases(PhaseLog)},
	OpLogSetSerializeValue: {Name: "kong.log.set_serialize_value", Phases: AllPhases},

	OpCacheGet:        {Name: "kong.cache.get", Phases: AllPhases},
	OpCacheSet:        {Name: "kong.cache.set", Phases: AllPhases},
	OpCacheLookup:     {Name: "kong.cache.lookup", Phases: AllPhases},
	OpCacheFill:       {Name: "kong.cache.fill", Phases: AllPhases},
	OpCacheAbandon:    {Name: "kong.cache.abandon", Phases: AllPhases},
	OpCacheInvalidate: {Name: "kong.cache.invalidate", Phases: AllPhases},

	OpNodeID:       {Name: "kong.node.get_id", Phases: AllPhases},
	OpNodeHostname: {Name: "kong.node.get_hostname", Phases: AllPhases},

	OpRouterRoute:       {Name: "kong.router.get_route", Phases: AuthAndLater},
	OpRouterService:     {Name: "kong.router.get_service", Phases: AuthAndLater},
	OpRouterURICaptures: {Name: "kong.request.get_uri_captures", Phases: AuthAndLater},

	OpIPIsTrusted: {Name: "kong.ip.is_trusted", Phases: AllPhases},
	OpPluginID:    {Name: "kong.plugin.get_id", Phases: AllPhases},
	OpPluginName:  {Name: "kong.plugin.get_name", Phases: AllPhases},

	OpCredentialsCredential:          {Name: "kong.credentials.get", Phases: AllPhases},
	OpCredentialsConsumerCredentials: {Name: "kong.credentials.list_by_consumer", Phases: AllPhases},

	OpClientTLSCertificateChain: {Name: "kong.client.tls.get_full_client_certificate_chain",
		Phases: Phases(PhaseRewrite, PhaseAccess, PhaseResponse, PhaseLog)},
	OpHTTPDo:      {Name: "kong.http.do", Phases: BeforeContent},
	OpTimersAfter: {Name: "kong.timer.at", Phases: AllPhases},
	OpRequestVar:  {Name: "ngx.var", Phases: AllPhases},

	// kong.db needs cosockets, which nginx allows where the body can be
	// read: rewrite, access and the buffered response phase.
	OpDBSelect:   {Name: "kong.db.select", Phases: BeforeContent},
	OpDBSelectBy: {Name: "kong.db.select_by", Phases: BeforeContent},
	OpDBPage:     {Name: "kong.db.page", Phases: BeforeContent},
	OpDBInsert:   {Name: "kong.db.insert", Phases: BeforeContent},
	OpDBUpdate:   {Name: "kong.db.update", Phases: BeforeContent},
	OpDBUpsert:   {Name: "kong.db.upsert", Phases: BeforeContent},
	OpDBDelete:   {Name: "kong.db.delete", Phases: BeforeContent},
}

func init() {
	for i := range operations {
		operations[i].Op = Op(i)
	}
}

// Operations returns the phase table: every operation with the phases it
// may be called in, in Op order.
func Operations() []Operation {
	out := make([]Operation, len(operations))
	copy(out, operations[:])
	return out
}

// String returns the operation's PDK name.
func (op Op) String() string {
	if op < numOps {
		return operations[op].Name
	}
	return "unknown operation"
}

// Phases returns the phases the operation may be called in.
func (op Op) Phases() PhaseSet {
	if op < numOps {
		return operations[op].Phases
	}
	return 0
}

// Allowed reports whether op may be called in phase p.
func Allowed(op Op, p Phase) bool { return op < numOps && operations[op].Phases.Has(p) }

// Check panics with a *PhaseError unless op may be called in phase p.
// Hosts call it first thing in every operation.
func Check(op Op, p Phase) {
	if op >= numOps || !operations[op].Phases.Has(p) {
		panic(&PhaseError{Op: op, Phase: p})
	}
}

// PhaseError is an operation called outside its phases. Native plugins
// see it as a panic (the chain fails the plugin: a 500, and the error in
// the log line); Lua plugins as a Lua error with the same message; Wasm
// guests as a trap.
type PhaseError struct {
	Op    Op
	Phase Phase
}

// Error follows Kong's message: "kong.response.exit cannot be called in
// log phase (only in: rewrite, access, response, header_filter)".
func (e *PhaseError) Error() string {
	ph := e.Phase.String()
	if e.Phase == 0 {
		ph = "no"
	}
	return fmt.Sprintf("%s cannot be called in %s phase (only in: %s)", e.Op, ph, e.Op.Phases())
}

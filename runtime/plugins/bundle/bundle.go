// Package bundle links every native plugin into a binary: importing it for
// its side effects registers them all (the `bundled` value of the `plugins`
// setting), with the entities they own. A custom build changes this one
// list; conformance's conventions test checks that it names exactly the
// plugin folders (those with a schema.go or an entities.go).
package bundle

import (
	_ "github.com/gatehouse/gatehouse/runtime/plugins/acl"                      // acl
	_ "github.com/gatehouse/gatehouse/runtime/plugins/application-registration" // application-registration
	_ "github.com/gatehouse/gatehouse/runtime/plugins/basic-auth"               // basic-auth
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bot-detection"            // bot-detection
	_ "github.com/gatehouse/gatehouse/runtime/plugins/correlation-id"           // correlation-id
	_ "github.com/gatehouse/gatehouse/runtime/plugins/cors"                     // cors
	_ "github.com/gatehouse/gatehouse/runtime/plugins/file-log"                 // file-log
	_ "github.com/gatehouse/gatehouse/runtime/plugins/hmac-auth"                // hmac-auth
	_ "github.com/gatehouse/gatehouse/runtime/plugins/http-log"                 // http-log
	_ "github.com/gatehouse/gatehouse/runtime/plugins/ip-restriction"           // ip-restriction
	_ "github.com/gatehouse/gatehouse/runtime/plugins/jwt"                      // jwt
	_ "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"                 // key-auth
	_ "github.com/gatehouse/gatehouse/runtime/plugins/oauth2"                   // oauth2
	_ "github.com/gatehouse/gatehouse/runtime/plugins/prometheus"               // prometheus
	_ "github.com/gatehouse/gatehouse/runtime/plugins/proxy-cache"              // proxy-cache
	_ "github.com/gatehouse/gatehouse/runtime/plugins/rate-limiting"            // rate-limiting
	_ "github.com/gatehouse/gatehouse/runtime/plugins/redirect"                 // redirect
	_ "github.com/gatehouse/gatehouse/runtime/plugins/request-size-limiting"    // request-size-limiting
	_ "github.com/gatehouse/gatehouse/runtime/plugins/request-termination"      // request-termination
	_ "github.com/gatehouse/gatehouse/runtime/plugins/request-transformer"      // request-transformer
	_ "github.com/gatehouse/gatehouse/runtime/plugins/response-ratelimiting"    // response-ratelimiting
	_ "github.com/gatehouse/gatehouse/runtime/plugins/response-transformer"     // response-transformer
	_ "github.com/gatehouse/gatehouse/runtime/plugins/tcp-log"                  // tcp-log
	_ "github.com/gatehouse/gatehouse/runtime/plugins/threat-protection"        // threat-protection
	_ "github.com/gatehouse/gatehouse/runtime/plugins/udp-log"                  // udp-log
)

// Package bundle links every native plugin into a binary: importing it for
// its side effects registers them all (the `bundled` value of the `plugins`
// setting), with the entities they own. A custom build changes this one
// list; conformance's conventions test checks that it names exactly the
// plugin folders (those with a schema.go or an entities.go).
package bundle

import (
	_ "github.com/gatehouse/gatehouse/runtime/plugins/acl"                   // acl (entities only)
	_ "github.com/gatehouse/gatehouse/runtime/plugins/basic-auth"            // basic-auth
	_ "github.com/gatehouse/gatehouse/runtime/plugins/hmac-auth"             // hmac-auth (entities only)
	_ "github.com/gatehouse/gatehouse/runtime/plugins/jwt"                   // jwt (entities only)
	_ "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"              // key-auth
	_ "github.com/gatehouse/gatehouse/runtime/plugins/oauth2"                // oauth2 (entities only)
	_ "github.com/gatehouse/gatehouse/runtime/plugins/rate-limiting"         // rate-limiting
	_ "github.com/gatehouse/gatehouse/runtime/plugins/request-transformer"   // request-transformer
	_ "github.com/gatehouse/gatehouse/runtime/plugins/response-ratelimiting" // response-ratelimiting
)

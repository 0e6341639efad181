// Package bundle links every native plugin into a binary: importing it for
// its side effects registers them all (the `bundled` value of the `plugins`
// setting). A custom build changes this one list.
package bundle

import (
	_ "github.com/gatehouse/gatehouse/runtime/plugins/basic-auth"          // basic-auth
	_ "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"            // key-auth
	_ "github.com/gatehouse/gatehouse/runtime/plugins/rate-limiting"       // rate-limiting
	_ "github.com/gatehouse/gatehouse/runtime/plugins/request-transformer" // request-transformer
)

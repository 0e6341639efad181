package router

// Upstream path construction.
//
// Kong 3.x's traditional_compatible router (kong/router/atc.lua
// set_upstream_uri) always joins paths with get_upstream_uri_v0, whatever
// the route's path_handling says: Kong logs that path_handling "v1" "will
// not work under 'expressions' or 'traditional_compatible' router_flavor".
// Options.PathHandlingV1 applies the "traditional" flavor's v1 join instead
// (kong/router/traditional.lua), for deployments that relied on it.

// upstreamPath computes the upstream path for a match. prefix is Kong's
// request prefix: the matched path when strip_path is on, "/" otherwise
// (and when nothing was matched). reqPath is the normalized request path.
// parts receives at most three strings whose concatenation is the result.
func upstreamParts(strip, v1 bool, base, prefix, reqPath string, parts *[3]string) int {
	postfix := ""
	if len(prefix) <= len(reqPath) {
		postfix = sanitizeURIPostfix(reqPath[len(prefix):])
	}
	baseSlash := base != "" && base[len(base)-1] == '/'
	if v1 {
		if strip {
			if baseSlash && postfix != "" && postfix[0] == '/' {
				return set2(parts, base[:len(base)-1], postfix)
			}
			return set2(parts, base, postfix)
		}
		return set2(parts, base, tail(reqPath))
	}
	reqSlash := reqPath != "" && reqPath[len(reqPath)-1] == '/'
	if baseSlash {
		if strip {
			if postfix == "" {
				if base == "/" {
					return set2(parts, "/", "")
				}
				if reqSlash {
					return set2(parts, base, "")
				}
				return set2(parts, base[:len(base)-1], "")
			}
			if postfix[0] == '/' {
				return set2(parts, base[:len(base)-1], postfix)
			}
			return set2(parts, base, postfix)
		}
		return set2(parts, base, tail(reqPath))
	}
	if strip {
		if postfix == "" {
			if len(reqPath) > 1 && reqSlash {
				return set2(parts, base, "/")
			}
			return set2(parts, base, "")
		}
		if postfix[0] == '/' {
			return set2(parts, base, postfix)
		}
		parts[0], parts[1], parts[2] = base, "/", postfix
		return 3
	}
	if reqPath == "/" {
		return set2(parts, base, "")
	}
	return set2(parts, base, reqPath)
}

func tail(s string) string {
	if s == "" {
		return ""
	}
	return s[1:]
}

func set2(parts *[3]string, a, b string) int {
	parts[0], parts[1] = a, b
	return 2
}

// UpstreamPath returns the path Kong's traditional_compatible router sends
// upstream for a route with the given strip_path flag and service path
// (nil service path: "/"), when the route matched matchedPath ("" when the
// route matched without a path) on the normalized request path reqPath.
// v1 selects the traditional flavor's path_handling "v1" join.
func UpstreamPath(stripPath, v1 bool, servicePath, matchedPath, reqPath string) string {
	if servicePath == "" {
		servicePath = "/"
	}
	prefix := "/"
	if stripPath && matchedPath != "" {
		prefix = matchedPath
	}
	var parts [3]string
	n := upstreamParts(stripPath, v1, servicePath, prefix, reqPath, &parts)
	s := ""
	for _, p := range parts[:n] {
		s += p
	}
	return s
}

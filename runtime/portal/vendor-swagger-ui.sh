#!/bin/sh
# vendor-swagger-ui.sh re-downloads swagger-ui-dist (the OpenAPI renderer the
# Developer Portal embeds), checks the tarball against the npm registry's
# pinned sha512 integrity, copies the few files the portal serves into
# assets/vendor/swagger-ui/ and rewrites VERSION with each file's sha256
# (runtime/portal's TestVendoredIntegrity checks them at every test run).
#
# Usage: runtime/portal/vendor-swagger-ui.sh   (or: make vendor-swagger-ui)
# Needs: curl, tar, openssl, sha256sum. No Node.
set -eu

NAME=swagger-ui-dist
VERSION=5.35.0
TARBALL="https://registry.npmjs.org/$NAME/-/$NAME-$VERSION.tgz"
INTEGRITY="sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=="
FILES="swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE"

here=$(cd "$(dirname "$0")" && pwd)
dest="$here/assets/vendor/swagger-ui"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

curl -sSfL -o "$tmp/pkg.tgz" "$TARBALL"
got="sha512-$(openssl dgst -sha512 -binary "$tmp/pkg.tgz" | openssl base64 -A)"
if [ "$got" != "$INTEGRITY" ]; then
	echo "vendor-swagger-ui: integrity mismatch for $TARBALL" >&2
	echo "  want $INTEGRITY" >&2
	echo "  got  $got" >&2
	exit 1
fi
tar -xzf "$tmp/pkg.tgz" -C "$tmp"
if ! grep -q "\"version\": \"$VERSION\"" "$tmp/package/package.json"; then
	echo "vendor-swagger-ui: the tarball is not $NAME $VERSION" >&2
	exit 1
fi

mkdir -p "$dest"
{
	echo "# swagger-ui-dist vendored by runtime/portal/vendor-swagger-ui.sh; do not edit by hand."
	echo "name $NAME"
	echo "version $VERSION"
	echo "license Apache-2.0"
	echo "tarball $TARBALL"
	echo "integrity $INTEGRITY"
	for f in $FILES; do
		cp "$tmp/package/$f" "$dest/$f"
		echo "sha256 $(sha256sum "$dest/$f" | cut -d' ' -f1) $f"
	done
} > "$tmp/VERSION"
mv "$tmp/VERSION" "$dest/VERSION"
echo "vendored $NAME $VERSION into $dest"

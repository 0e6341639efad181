// Package testredis gives tests the Redis server `make test` starts
// (.ci/services, exported as GATEHOUSE_TEST_REDIS_ADDR).
package testredis

import (
	"net"
	"os"
	"strconv"
	"testing"
)

// Addr returns the test Redis server's host and port. Outside CI a
// missing server skips the test with the reason; in CI it fails it, so
// no Redis test can silently not run there.
func Addr(t testing.TB) (host string, port int) {
	t.Helper()
	addr := os.Getenv("GATEHOUSE_TEST_REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("GATEHOUSE_TEST_REDIS_ADDR is not set in CI: make test starts redis-server through .ci/services")
		}
		t.Skip("no Redis: set GATEHOUSE_TEST_REDIS_ADDR (make test does, via .ci/services)")
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_REDIS_ADDR=%q: %v", addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_REDIS_ADDR=%q: %v", addr, err)
	}
	return h, port
}

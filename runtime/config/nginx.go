package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// ParseNginxTime parses an nginx time value: one or more number-unit
// pairs ("60s", "500ms", "1m30s"), with units ms, s, m, h, d, w, M (30
// days) and y (365 days); a plain number means seconds.
func ParseNginxTime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty time")
	}
	if n, err := strconv.ParseUint(s, 10, 31); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 9 {
			return 0, fmt.Errorf("invalid time %q", s)
		}
		n, _ := strconv.Atoi(rest[:i])
		rest = rest[i:]
		var unit time.Duration
		switch {
		case strings.HasPrefix(rest, "ms"):
			unit, rest = time.Millisecond, rest[2:]
		case strings.HasPrefix(rest, "s"):
			unit, rest = time.Second, rest[1:]
		case strings.HasPrefix(rest, "m"):
			unit, rest = time.Minute, rest[1:]
		case strings.HasPrefix(rest, "h"):
			unit, rest = time.Hour, rest[1:]
		case strings.HasPrefix(rest, "d"):
			unit, rest = 24*time.Hour, rest[1:]
		case strings.HasPrefix(rest, "w"):
			unit, rest = 7*24*time.Hour, rest[1:]
		case strings.HasPrefix(rest, "M"):
			unit, rest = 30*24*time.Hour, rest[1:]
		case strings.HasPrefix(rest, "y"):
			unit, rest = 365*24*time.Hour, rest[1:]
		default:
			return 0, fmt.Errorf("invalid time %q (units are ms, s, m, h, d, w, M, y)", s)
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}

// ParseNginxSize parses an nginx size: a number of bytes, or with k/K or
// m/M for KiB and MiB.
func ParseNginxSize(s string) (int, error) {
	s = strings.TrimSpace(s)
	mult := 1
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult, s = 1<<10, s[:len(s)-1]
		case 'm', 'M':
			mult, s = 1<<20, s[:len(s)-1]
		}
	}
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil || n == 0 || int64(n)*int64(mult) > 1<<30 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return int(n) * mult, nil
}

func checkNginxTime(v reflect.Value) error {
	d, err := ParseNginxTime(v.String())
	if err != nil {
		return err
	}
	if d <= 0 {
		return fmt.Errorf("must be more than 0, got %q", v.String())
	}
	return nil
}

// parseHeaderBuffers parses large_client_header_buffers: "NUMBER SIZE".
func parseHeaderBuffers(s string) (count, size int, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("expected NUMBER SIZE (e.g. \"4 8k\"), got %q", s)
	}
	count, err = strconv.Atoi(f[0])
	if err != nil || count < 1 || count > 1024 {
		return 0, 0, fmt.Errorf("invalid number of buffers %q", f[0])
	}
	if size, err = ParseNginxSize(f[1]); err != nil {
		return 0, 0, err
	}
	if size < 1024 || count*size > 16<<20 {
		return 0, 0, fmt.Errorf("buffers of %q: a buffer of at least 1k, 16m in all", s)
	}
	return count, size, nil
}

func checkHeaderBuffers(v reflect.Value) error {
	_, _, err := parseHeaderBuffers(v.String())
	return err
}

func mustTime(s string) time.Duration {
	d, _ := ParseNginxTime(s)
	return d
}

// ClientHeaderTimeout is nginx_http_client_header_timeout: the time to
// read a request head (and to wait for a connection's first request).
func (c *Config) ClientHeaderTimeout() time.Duration { return mustTime(c.ClientHeaderTimeoutValue) }

// ClientBodyTimeout is nginx_http_client_body_timeout: the longest wait
// between two reads of a request body.
func (c *Config) ClientBodyTimeout() time.Duration { return mustTime(c.ClientBodyTimeoutValue) }

// KeepaliveTimeout is nginx_http_keepalive_timeout: how long an idle
// keep-alive connection stays open.
func (c *Config) KeepaliveTimeout() time.Duration { return mustTime(c.KeepaliveTimeoutValue) }

// WorkerShutdownTimeout is nginx_main_worker_shutdown_timeout: how long a
// graceful shutdown waits for in-flight requests before it closes the
// connections left.
func (c *Config) WorkerShutdownTimeout() time.Duration {
	return mustTime(c.WorkerShutdownTimeoutValue)
}

// LargeClientHeaderBuffers is nginx_http_large_client_header_buffers: the
// longest request or header line (size) and the largest request head
// (count × size).
func (c *Config) LargeClientHeaderBuffers() (maxLine, maxHead int) {
	n, size, _ := parseHeaderBuffers(c.LargeClientHeaderBuffersValue)
	return size, n * size
}

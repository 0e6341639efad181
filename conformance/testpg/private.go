package testpg

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Server is a throw-away PostgreSQL server of one test, which the test may
// stop, start and restart without disturbing the shared server other tests
// use. It is stopped and removed when the test ends.
type Server struct {
	bin, dir, data string
	port           int
	t              testing.TB
}

// binDir finds PostgreSQL's server binaries (Debian's layout, or PATH).
func binDir() string {
	if d := os.Getenv("GATEHOUSE_TEST_PG_BIN"); d != "" {
		return d
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// StartPrivate initialises and starts a private server on a free loopback
// port. Outside CI, missing PostgreSQL binaries skip the test with the
// reason; in CI they fail it. As root, the server runs as the postgres user
// (PostgreSQL refuses root).
func StartPrivate(t testing.TB) *Server {
	t.Helper()
	bin := binDir()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL server binaries (initdb, pg_ctl) not found in CI: .ci/services installs them")
		}
		t.Skip("no PostgreSQL server binaries (initdb, pg_ctl): install postgresql or set GATEHOUSE_TEST_PG_BIN")
	}
	dir, err := os.MkdirTemp("", "gatehouse-private-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{bin: bin, dir: dir, data: filepath.Join(dir, "data"), t: t}
	t.Cleanup(func() {
		s.pgctl("stop", "-m", "immediate") //nolint:errcheck // may be stopped already
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(s.data, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user to run the server: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(s.data, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := s.command("initdb", "-D", s.data, "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.port = freePort(t)
	s.Start()
	return s
}

// freePort returns a loopback port nothing listens on now.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// command runs a PostgreSQL tool, as the postgres user when root.
func (s *Server) command(tool string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, tool)
	if os.Getuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (s *Server) pgctl(args ...string) error {
	all := append([]string{"-D", s.data, "-w", "-t", "60"}, args...)
	out, err := s.command("pg_ctl", all...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %v\n%s", args, err, out)
	}
	return nil
}

// Start starts the server (again) on its port and waits until it accepts
// connections.
func (s *Server) Start() {
	s.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c fsync=off", s.port, s.dir)
	if err := s.pgctl("-l", filepath.Join(s.dir, "server.log"), "-o", opts, "start"); err != nil {
		s.t.Fatal(err)
	}
}

// Stop shuts the server down fast (open connections are cut, as in a crash
// of the database host or a failover).
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.pgctl("stop", "-m", "fast"); err != nil {
		s.t.Fatal(err)
	}
}

// Restart stops and starts the server (pg_ctl restart -m fast).
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

// Port is the server's loopback port.
func (s *Server) Port() int { return s.port }

// DSN is the URL of the server's postgres database.
func (s *Server) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Database creates an empty database on the server and returns its URL.
func (s *Server) Database(name string) string {
	s.t.Helper()
	db, err := sql.Open("pgx", s.DSN())
	if err != nil {
		s.t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		s.t.Fatal(err)
	}
	u, _ := url.Parse(s.DSN())
	u.Path = "/" + name
	return u.String()
}

// Settings creates a fresh, bootstrapped database on the server and returns
// the node settings that use it.
func (s *Server) Settings() map[string]string {
	s.t.Helper()
	u, err := url.Parse(s.Database(fmt.Sprintf("gh_private_%d_%d", time.Now().UnixNano(), seq.Add(1))))
	if err != nil {
		s.t.Fatal(err)
	}
	return bootstrap(s.t, u)
}

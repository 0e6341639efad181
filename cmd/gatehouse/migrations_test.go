package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

// coreMigrations is core's row of `migrations list` on SQLite.
func coreMigrations() string {
	var names []string
	for _, m := range sqlstore.MigrationsFor("sqlite") {
		names = append(names, m.Name)
	}
	return strings.Join(names, ", ")
}

// plugins is the folder of the Lua fixture plugins: token-desk ships
// migrations/init.lua and two migrations (one with a teardown); jwt-minter
// one; legacy-desk none.
const plugins = "../../conformance/luaplugins/testdata/plugins"

// gatehouse runs the command as the binary would, and returns what it
// printed.
func gatehouse(t *testing.T, args ...string) (string, error) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdout
	os.Stdout = f
	runErr := run(args)
	os.Stdout = saved
	f.Seek(0, io.SeekStart)
	out, _ := io.ReadAll(f)
	return string(out), runErr
}

// TestMigrationsLuaPlugins: `gatehouse migrations` on a real SQLite file
// lists the Lua plugins' migrations as Kong's `kong migrations list`
// does, records them as executed (saying their SQL is not run), and up
// is then a no-op that says so.
func TestMigrationsLuaPlugins(t *testing.T) {
	prefix := t.TempDir()
	db := filepath.Join(prefix, "kong.db")
	args := func(cmd ...string) []string {
		return append(cmd, "-p", prefix, "--set", "sqlite_path="+db, "--set", "lua_plugins_dir="+plugins,
			"--set", "plugins=bundled,token-desk,jwt-minter,legacy-desk")
	}
	// A fresh file: SQLite makes the core tables when opened; the
	// plugins' migrations are new: Kong's exit status 5.
	out, err := gatehouse(t, args("migrations", "list")...)
	if status, ok := err.(app.ExitStatus); !ok || status != 5 {
		t.Fatalf("list with new migrations: %v, want exit status 5", err)
	}
	want := "Executed migrations:\n" +
		"core: " + coreMigrations() + "\n" +
		"\nNew migrations available:\n" +
		"jwt-minter: 000_base_jwt_minter\n" +
		"token-desk: 000_base_token_desk, 001_300_to_310\n" +
		"\nRun 'gatehouse migrations up' to proceed\n"
	if out != want {
		t.Fatalf("list before up:\n%s\nwant:\n%s", out, want)
	}
	out, err = gatehouse(t, args("migrations", "up")...)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"migrating jwt-minter: 000_base_jwt_minter recorded as executed (its SQL was not run: Gatehouse stores the plugin's entities itself)\n",
		"migrating token-desk: 000_base_token_desk recorded as executed",
		"migrating token-desk: 001_300_to_310 recorded as executed",
		"3 migrations processed\nDatabase is up-to-date\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("up: %q lacks %q", out, line)
		}
	}
	out, err = gatehouse(t, args("migrations", "list")...)
	if err != nil {
		t.Fatal(err)
	}
	want = "Executed migrations:\n" +
		"      core: " + coreMigrations() + "\n" +
		"jwt-minter: 000_base_jwt_minter\n" +
		"token-desk: 000_base_token_desk, 001_300_to_310\n"
	if out != want {
		t.Fatalf("list after up:\n%s\nwant:\n%s", out, want)
	}
	out, err = gatehouse(t, args("migrations", "up")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "Database is already up-to-date\nPlugin migrations are recorded, not run:") {
		t.Errorf("second up: %q", out)
	}
	// Without the plugins enabled, only core shows (the rows stay).
	out, err = gatehouse(t, "migrations", "list", "-p", prefix, "--set", "sqlite_path="+db)
	if err != nil || out != "Executed migrations:\ncore: "+coreMigrations()+"\n" {
		t.Errorf("list without plugins: %q %v", out, err)
	}
	// bootstrap on a new file records them at once
	db2 := filepath.Join(prefix, "other.db")
	out, err = gatehouse(t, "migrations", "bootstrap", "-p", prefix, "--set", "sqlite_path="+db2,
		"--set", "lua_plugins_dir="+plugins, "--set", "plugins=bundled,token-desk")
	if err != nil || !strings.Contains(out, "migrating token-desk: 001_300_to_310 recorded as executed") {
		t.Errorf("bootstrap: %q %v", out, err)
	}
	// reset forgets them with everything else
	if _, err := gatehouse(t, args("migrations", "reset", "--yes")...); err != nil {
		t.Fatal(err)
	}
}

// TestMigrationsInvalidPlugin: a plugin migration Kong's migration
// schema refuses is an error naming it.
func TestMigrationsInvalidPlugin(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "kong", "plugins", "bad-mig")
	files := map[string]string{
		"handler.lua":                 `return { PRIORITY = 1, VERSION = "1.0.0", access = function() end }`,
		"schema.lua":                  `return { name = "bad-mig", fields = { { config = { type = "record", fields = {} } } } }`,
		"migrations/init.lua":         `return { "000_base_bad" }`,
		"migrations/000_base_bad.lua": `return { cassandra = { up = "CREATE TABLE x (id uuid PRIMARY KEY)" } }`,
	}
	for name, src := range files {
		p := filepath.Join(base, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prefix := t.TempDir()
	_, err := gatehouse(t, "migrations", "list", "-p", prefix, "--set", "lua_plugins_dir="+dir, "--set", "plugins=bundled,bad-mig")
	if err == nil || !strings.Contains(err.Error(), "migration '000_base_bad' of 'bad-mig' subsystem is invalid: postgres: required field missing") {
		t.Fatalf("err = %v", err)
	}
}

// TestStartRecordsLuaMigrations: what `gatehouse start` does with the
// Lua provider it builds: the plugins' migrations are recorded as
// executed (the node stores their entities from then on).
func TestStartRecordsLuaMigrations(t *testing.T) {
	prefix := t.TempDir()
	db := filepath.Join(prefix, "kong.db")
	sets := []string{"-p", prefix, "--set", "sqlite_path=" + db, "--set", "lua_plugins_dir=" + plugins,
		"--set", "plugins=bundled,token-desk"}
	cfg, err := config.Load(config.LoadOptions{Flags: map[string]string{"prefix": prefix, "sqlite_path": db,
		"lua_plugins_dir": plugins, "plugins": "bundled,token-desk"}})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := luaProvider(cfg, slog.New(slog.DiscardHandler))
	if err != nil || p == nil {
		t.Fatalf("provider %v %v", p, err)
	}
	defer p.Close()
	if err := recordLuaMigrations(context.Background(), cfg, p); err != nil {
		t.Fatal(err)
	}
	out, err := gatehouse(t, append([]string{"migrations", "list"}, sets...)...)
	want := "Executed migrations:\n" +
		"      core: " + coreMigrations() + "\n" +
		"token-desk: 000_base_token_desk, 001_300_to_310\n"
	if err != nil || out != want {
		t.Fatalf("list after start: %q %v, want %q", out, err, want)
	}
}

package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/declarative"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

// migratorFor opens the configured database for schema maintenance.
func migratorFor(ctx context.Context, cfg *config.Config) (store.Backend, store.Migrator, error) {
	if cfg.Database == config.DatabaseOff {
		return nil, nil, errors.New("migrations need a database: database is 'off'")
	}
	b, err := OpenBackend(ctx, cfg, true)
	if err != nil {
		return nil, nil, err
	}
	sb, ok := b.(*sqlstore.Backend)
	if !ok {
		b.Close()
		return nil, nil, fmt.Errorf("database %s has no migrations", b.Name())
	}
	return b, sqlstore.NewMigrator(sb), nil
}

// PluginMigrations are the migrations a plugin ships (a Lua plugin's
// migrations/init.lua), in order. Gatehouse stores plugin entities in
// the tables its core migrations make, so it never runs a plugin's
// migration: bootstrap and up record them as executed, list shows them
// as Kong's `kong migrations list` does.
type PluginMigrations struct {
	Plugin string
	Names  []string
}

// ExitStatus is the error of a command whose outcome is the process's
// exit status, as Kong's commands report it (`kong migrations list`: 3
// when the database needs bootstrapping, 5 when new migrations are
// available); what it had to say is printed already.
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// pluginMigrationKey is a plugin migration's name in the migrations
// table (core migrations have names without a slash).
func pluginMigrationKey(plugin, name string) string { return plugin + "/" + name }

// Migrations runs `gatehouse migrations ACTION`: bootstrap, up, list or
// reset (reset only with yes).
func Migrations(ctx context.Context, cfg *config.Config, action string, yes bool, out io.Writer) error {
	return MigrationsWith(ctx, cfg, action, yes, out, nil)
}

// MigrationsWith is Migrations with the migrations of the enabled
// plugins: bootstrap and up record those not recorded yet as executed
// (saying that their SQL is not run), list shows them beside core's in
// Kong's format.
func MigrationsWith(ctx context.Context, cfg *config.Config, action string, yes bool, out io.Writer, plugins []PluginMigrations) error {
	b, m, err := migratorFor(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	sm, _ := m.(*sqlstore.Migrator)
	switch action {
	case "bootstrap":
		ok, err := m.Bootstrapped(ctx)
		if err != nil {
			return err
		}
		if ok {
			fmt.Fprintln(out, "Database already bootstrapped")
			// (SQLite bootstraps when opened: its plugins' migrations
			// are recorded here all the same.)
			_, err := recordPlugins(ctx, sm, plugins, out)
			return err
		}
		fmt.Fprintln(out, "Bootstrapping database...")
		if err := m.Bootstrap(ctx); err != nil {
			return err
		}
		if _, err := recordPlugins(ctx, sm, plugins, out); err != nil {
			return err
		}
		fmt.Fprintln(out, "Database is up-to-date")
	case "up":
		ok, err := m.Bootstrapped(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("database needs bootstrapping; run 'gatehouse migrations bootstrap'")
		}
		applied, err := m.Up(ctx)
		if err != nil {
			return err
		}
		for _, name := range applied {
			fmt.Fprintf(out, "migrating core: %s\n", name)
		}
		recorded, err := recordPlugins(ctx, sm, plugins, out)
		if err != nil {
			return err
		}
		if n := len(applied) + recorded; n == 0 {
			fmt.Fprintln(out, "Database is already up-to-date")
			if len(plugins) > 0 {
				fmt.Fprintln(out, pluginSQLNote)
			}
		} else {
			fmt.Fprintf(out, "%d migrations processed\nDatabase is up-to-date\n", n)
		}
	case "list":
		ok, err := m.Bootstrapped(ctx)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(out, "Database needs bootstrapping or is older than Kong 1.0.")
			fmt.Fprintln(out, "\nTo start a new installation from scratch, run 'gatehouse migrations bootstrap'.")
			return ExitStatus(3)
		}
		done, pending, err := m.List(ctx)
		if err != nil {
			return err
		}
		executed := map[string]bool{}
		if sm != nil {
			if executed, err = sm.Executed(ctx); err != nil {
				return err
			}
		}
		var doneRows, newRows []migrationRow
		if len(done) > 0 {
			doneRows = append(doneRows, migrationRow{"core", done})
		}
		if len(pending) > 0 {
			newRows = append(newRows, migrationRow{"core", pending})
		}
		for _, p := range plugins {
			var d, n []string
			for _, name := range p.Names {
				if executed[pluginMigrationKey(p.Plugin, name)] {
					d = append(d, name)
				} else {
					n = append(n, name)
				}
			}
			if len(d) > 0 {
				doneRows = append(doneRows, migrationRow{p.Plugin, d})
			}
			if len(n) > 0 {
				newRows = append(newRows, migrationRow{p.Plugin, n})
			}
		}
		sep := ""
		if len(doneRows) > 0 {
			fmt.Fprintf(out, "Executed migrations:\n%s\n", migrationRows(doneRows))
			sep = "\n"
		}
		if len(newRows) > 0 {
			fmt.Fprintf(out, "%sNew migrations available:\n%s\n", sep, migrationRows(newRows))
			fmt.Fprintln(out, "\nRun 'gatehouse migrations up' to proceed")
			return ExitStatus(5)
		}
	case "reset":
		if !yes {
			return errors.New("reset drops every entity: confirm with --yes")
		}
		if err := m.Reset(ctx); err != nil {
			return err
		}
		fmt.Fprintln(out, "Database successfully reset")
	default:
		return fmt.Errorf("unknown migrations command %q (want bootstrap, up, list or reset)", action)
	}
	return nil
}

// pluginSQLNote says what Gatehouse does with a plugin's migrations.
const pluginSQLNote = "Plugin migrations are recorded, not run: Gatehouse stores plugin entities (daos.lua) in its own tables and never runs a plugin's SQL or migration functions"

// recordPlugins records the plugins' migrations not recorded yet as
// executed, one line each, and returns how many it recorded.
func recordPlugins(ctx context.Context, m *sqlstore.Migrator, plugins []PluginMigrations, out io.Writer) (int, error) {
	if len(plugins) == 0 {
		return 0, nil
	}
	if m == nil {
		return 0, errors.New("this database cannot record plugin migrations")
	}
	n := 0
	for _, p := range plugins {
		keys := make([]string, len(p.Names))
		for i, name := range p.Names {
			keys[i] = pluginMigrationKey(p.Plugin, name)
		}
		added, err := m.Record(ctx, keys)
		if err != nil {
			return n, err
		}
		for _, k := range added {
			fmt.Fprintf(out, "migrating %s: %s recorded as executed (its SQL was not run: Gatehouse stores the plugin's entities itself)\n",
				p.Plugin, strings.TrimPrefix(k, p.Plugin+"/"))
		}
		n += len(added)
	}
	return n, nil
}

// RecordPluginMigrations records the plugins' migrations as executed in
// the configured database, as `gatehouse start` does once the node
// stores their entities; it does nothing without a database, or with one
// not bootstrapped yet.
func RecordPluginMigrations(ctx context.Context, cfg *config.Config, plugins []PluginMigrations) error {
	if len(plugins) == 0 || cfg.Database == config.DatabaseOff {
		return nil
	}
	b, m, err := migratorFor(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	if ok, err := m.Bootstrapped(ctx); err != nil || !ok {
		return err
	}
	_, err = recordPlugins(ctx, m.(*sqlstore.Migrator), plugins, io.Discard)
	return err
}

// migrationRow is one subsystem's line of `migrations list`.
type migrationRow struct {
	subsystem string
	names     []string
}

// migrationRows renders rows as Kong does: subsystem names right-aligned
// to the longest, then the migrations, comma-separated.
func migrationRows(rows []migrationRow) string {
	width := 0
	for _, r := range rows {
		width = max(width, len(r.subsystem))
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = fmt.Sprintf("%*s: %s", width, r.subsystem, strings.Join(r.names, ", "))
	}
	return strings.Join(lines, "\n")
}

// openForData opens the configured store for db_import and db_export.
func openForData(ctx context.Context, cfg *config.Config, catalog *plugin.Catalog) (*store.Store, error) {
	if cfg.Database == config.DatabaseOff {
		return nil, errors.New("db_import and db_export need a database: database is 'off'")
	}
	if catalog == nil {
		var err error
		if catalog, err = plugin.NewCatalog(cfg.Plugins); err != nil {
			return nil, err
		}
	}
	return OpenStore(ctx, cfg, catalog)
}

// parseFor parses the declarative file at path against the entities of the
// plugins cfg enables, returning the catalog it built. Parse errors are
// prefixed with path.
func parseFor(cfg *config.Config, path string, data []byte) (*declarative.Config, *plugin.Catalog, error) {
	catalog, err := plugin.NewCatalog(cfg.Plugins)
	if err != nil {
		return nil, nil, err
	}
	reg, err := catalog.Registry()
	if err != nil {
		return nil, nil, err
	}
	parsed, err := declarative.Parse(data, reg)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return parsed, catalog, nil
}

// DBImport loads a declarative file into the database (all or nothing).
func DBImport(ctx context.Context, cfg *config.Config, path string, out io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	parsed, catalog, err := parseFor(cfg, path, data)
	if err != nil {
		return err
	}
	s, err := openForData(ctx, cfg, catalog)
	if err != nil {
		return err
	}
	defer s.Backend().Close()
	if err := parsed.Load(ctx, s, false); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(out, "parse successful, beginning import\nimport successful\n")
	return nil
}

// DBExport writes the database as a declarative file, to path or, when path
// is "" or "-", to out.
func DBExport(ctx context.Context, cfg *config.Config, path string, out io.Writer) error {
	s, err := openForData(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer s.Backend().Close()
	data, err := declarative.Export(ctx, s)
	if err != nil {
		return err
	}
	if path == "" || path == "-" {
		_, err = out.Write(data)
		return err
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists; not overwriting it", path)
	}
	return os.WriteFile(path, data, 0o644)
}

// ParseDeclarative validates a declarative file without touching a database:
// it is loaded into a private in-memory store with the enabled plugins.
func ParseDeclarative(ctx context.Context, cfg *config.Config, path string, out io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	parsed, catalog, err := parseFor(cfg, path, data)
	if err != nil {
		return err
	}
	mem := *cfg
	mem.Database = config.DatabaseOff
	s, err := OpenStore(ctx, &mem, catalog)
	if err != nil {
		return err
	}
	defer s.Backend().Close()
	if err := parsed.Load(ctx, s, true); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(out, "parse successful\n")
	return nil
}

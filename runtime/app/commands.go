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

// Migrations runs `gatehouse migrations ACTION`: bootstrap, up, list or
// reset (reset only with yes).
func Migrations(ctx context.Context, cfg *config.Config, action string, yes bool, out io.Writer) error {
	b, m, err := migratorFor(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	switch action {
	case "bootstrap":
		ok, err := m.Bootstrapped(ctx)
		if err != nil {
			return err
		}
		if ok {
			fmt.Fprintln(out, "Database already bootstrapped")
			return nil
		}
		if err := m.Bootstrap(ctx); err != nil {
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
		if len(applied) == 0 {
			fmt.Fprintln(out, "Database is already up-to-date")
		} else {
			fmt.Fprintf(out, "%d migrations processed\nDatabase is up-to-date\n", len(applied))
		}
	case "list":
		done, pending, err := m.List(ctx)
		if err != nil {
			return err
		}
		if len(done) == 0 {
			fmt.Fprintln(out, "Database needs bootstrapping or is older than Kong 1.0.")
		}
		if len(done) > 0 {
			fmt.Fprintf(out, "Executed migrations:\n core: %s\n", strings.Join(done, ", "))
		}
		if len(pending) > 0 {
			fmt.Fprintf(out, "Pending migrations:\n core: %s\n", strings.Join(pending, ", "))
		} else if len(done) > 0 {
			fmt.Fprintln(out, "Database is up-to-date")
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

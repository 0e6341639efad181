// Command gatehouse is the Gatehouse API gateway: a Kong-compatible proxy,
// Admin API, Kong Manager and Developer Portal in one binary.
//
//	gatehouse start [-c FILE] [-p PREFIX] [--set name=value ...]
//	gatehouse migrations bootstrap|up|list|reset [--yes]
//	gatehouse config db_import FILE | db_export [FILE] | parse FILE
//	gatehouse version
//
// Settings come from flags (--set, -p), then GATEHOUSE_<NAME> / KONG_<NAME>
// environment variables, then the -c file in kong.conf format, then defaults.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof" // served only when GATEHOUSE_PPROF_LISTEN is set
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle" // the native plugins
)

const usage = `Usage: gatehouse COMMAND [OPTIONS]

Commands:
  start                          start the gateway: by default the proxy on
                                 :8000 and :8443 (TLS), the Admin API on
                                 127.0.0.1:8001 and :8444 (TLS), Kong Manager on
                                 :8002 and :8445 (TLS); with portal=on the
                                 Developer Portal on :8003/:8446 and its API on
                                 :8004/:8447. TLS uses ssl_cert, admin_ssl_cert...
                                 or a self-signed certificate made in PREFIX/ssl
  migrations bootstrap|up|list|reset [--yes]
                                 manage the database schema
  config db_import FILE          import a declarative file into the database
  config db_export [FILE]        export the database as a declarative file
  config parse FILE              validate a declarative file
  rbac bootstrap                 create the first super-admin and print its token once
  version                        print the version

Options (every command):
  -c, --conf FILE                configuration file (kong.conf format)
  -p, --prefix DIR               prefix directory (default ./gatehouse-data)
  --set NAME=VALUE               set any setting (repeatable)
  --yes                          confirm migrations reset
`

type setFlags map[string]string

func (s setFlags) String() string { return "" }

func (s setFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("--set wants NAME=VALUE, got %q", v)
	}
	s[strings.TrimSpace(name)] = value
	return nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		var status app.ExitStatus
		if errors.As(err, &status) {
			os.Exit(int(status)) // the command printed its outcome
		}
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	fs := flag.NewFlagSet("gatehouse "+cmd, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	var conf, prefix string
	var yes bool
	sets := setFlags{}
	fs.StringVar(&conf, "c", "", "configuration file")
	fs.StringVar(&conf, "conf", "", "configuration file")
	fs.StringVar(&prefix, "p", "", "prefix directory")
	fs.StringVar(&prefix, "prefix", "", "prefix directory")
	fs.Var(sets, "set", "NAME=VALUE")
	fs.BoolVar(&yes, "yes", false, "confirm")
	fs.BoolVar(&yes, "y", false, "confirm")
	var positional []string
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		rest = fs.Args()
		if len(rest) > 0 {
			positional = append(positional, rest[0])
			rest = rest[1:]
		}
	}
	if cmd == "version" {
		fmt.Printf("Gatehouse %s (Kong %s compatible)\n", app.Version, admin.KongVersion)
		return nil
	}
	if prefix != "" {
		sets["prefix"] = prefix
	}
	cfg, err := config.Load(config.LoadOptions{ConfPath: conf, Env: os.Environ(), Flags: sets})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	arg := func(i int) string {
		if i < len(positional) {
			return positional[i]
		}
		return ""
	}
	switch cmd {
	case "start":
		if addr := os.Getenv("GATEHOUSE_PPROF_LISTEN"); addr != "" {
			// Profiling for performance work only: net/http/pprof on a
			// separate, explicitly requested address.
			go func() { fmt.Fprintln(os.Stderr, http.ListenAndServe(addr, nil)) }()
		}
		log := app.Logger(cfg.LogLevel)
		var opts app.Options
		opts.Logger = log
		lua, bundled, err := luaProvider(cfg, log)
		if err != nil {
			return err
		}
		if lua != nil {
			opts.Providers = append(opts.Providers, lua)
			opts.Bundled = bundled
			// The node stores the Lua plugins' entities: their
			// migrations count as executed from now on.
			if err := recordLuaMigrations(ctx, cfg, lua); err != nil {
				log.Warn("recording the Lua plugins' migrations", "error", err)
			}
		}
		wasm, err := wasmProvider(cfg, log)
		if err != nil {
			return err
		}
		if wasm != nil {
			opts.Providers = append(opts.Providers, wasm)
		}
		filters, filterNames, err := wasmFilterProvider(cfg, log)
		if err != nil {
			return err
		}
		if filters != nil {
			opts.Providers = append(opts.Providers, filters)
			opts.Enabled = filterNames
		}
		node, err := app.StartWith(ctx, cfg, opts)
		if err != nil {
			return err
		}
		// SIGHUP reloads the plugins (kong reload): the plugin runtimes
		// read their folders again; the node logs the outcome.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	serve:
		for {
			select {
			case <-ctx.Done():
				break serve
			case <-hup:
				node.ReloadPlugins(ctx)
			}
		}
		// SIGTERM or SIGINT: a graceful shutdown bounded by
		// nginx_main_worker_shutdown_timeout. A second signal kills the
		// process at once (the default handling is back).
		stop()
		return node.Close()
	case "migrations":
		plugins, err := luaMigrations(ctx, cfg)
		if err != nil {
			return err
		}
		return app.MigrationsWith(ctx, cfg, arg(0), yes, os.Stdout, plugins)
	case "rbac":
		if arg(0) != "bootstrap" {
			return fmt.Errorf("unknown rbac command %q (want bootstrap)", arg(0))
		}
		return app.RBACBootstrap(ctx, cfg, os.Stdout)
	case "config":
		switch arg(0) {
		case "db_import":
			if arg(1) == "" {
				return errors.New("config db_import needs a FILE")
			}
			return app.DBImport(ctx, cfg, arg(1), os.Stdout)
		case "db_export":
			return app.DBExport(ctx, cfg, arg(1), os.Stdout)
		case "parse":
			if arg(1) == "" {
				return errors.New("config parse needs a FILE")
			}
			return app.ParseDeclarative(ctx, cfg, arg(1), os.Stdout)
		}
		return fmt.Errorf("unknown config command %q (want db_import, db_export or parse)", arg(0))
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}

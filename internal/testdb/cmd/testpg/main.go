// Command testpg starts, or stops, the PostgreSQL cluster that every test
// package shares under `make test`.
//
//	testpg [-dir /tmp/tim-testpg]        start (or find running) and print TIM_TEST_DATABASE_URL=<admin URL>
//	testpg [-dir /tmp/tim-testpg] -stop  stop it; the data stays for the next start
//	testpg [-dir ...] -migrated NAME     start, (re)create database NAME with every
//	                                     migration applied, and also print
//	                                     TIM_MIGRATED_DATABASE_URL=<its URL>
//
// The cluster is non-durable (fsync off): it holds only test databases.
// Starting it when it already runs just prints the URL again. `make test`
// names the directory after the checkout (TESTPG_DIR); `make vet-sql` vets
// the queries against a database made with -migrated.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5"

	"tim/internal/pgcluster"
	"tim/internal/store"
	"tim/internal/testdb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "testpg:", err)
		}
		stop()
		os.Exit(1)
	}
}

// run parses args, then starts or stops the cluster. The URL goes to
// stdout; progress goes to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet(args[0], flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("dir", "/tmp/tim-testpg", "cluster `directory`, created if missing")
	stopIt := flags.Bool("stop", false, "stop the cluster instead of starting it")
	migrated := flags.String("migrated", "", "also (re)create database `name` with every migration applied and print its URL")
	if err := flags.Parse(args[1:]); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if *stopIt {
		if err := pgcluster.StopDir(ctx, pgcluster.Options{Dir: *dir, Logger: logger}); err != nil {
			return fmt.Errorf("stop test cluster: %w", err)
		}
		return nil
	}

	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: *dir, Fast: true, Logger: logger})
	if err != nil {
		return fmt.Errorf("start test cluster: %w", err)
	}
	if _, err := fmt.Fprintf(stdout, "%s=%s\n", testdb.EnvURL, c.URL("postgres")); err != nil {
		return fmt.Errorf("print URL: %w", err)
	}
	if *migrated == "" {
		return nil
	}
	if err := createMigrated(ctx, c, *migrated, logger); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "TIM_MIGRATED_DATABASE_URL=%s\n", c.URL(*migrated)); err != nil {
		return fmt.Errorf("print URL: %w", err)
	}
	return nil
}

// createMigrated drops database name if it exists, creates it afresh and
// applies every migration to it.
func createMigrated(ctx context.Context, c *pgcluster.Cluster, name string, logger *slog.Logger) (err error) {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to test cluster: %w", err)
	}
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	if cerr := conn.Close(ctx); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	if err := c.EnsureDatabase(ctx, name); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	pool, err := store.Open(ctx, c.URL(name), 1)
	if err != nil {
		return fmt.Errorf("open database %s: %w", name, err)
	}
	defer pool.Close()
	if err := pool.Migrate(ctx, logger); err != nil {
		return fmt.Errorf("migrate database %s: %w", name, err)
	}
	return nil
}

// Command testpg starts, or stops, the PostgreSQL cluster that every test
// package shares under `make test`.
//
//	testpg [-dir /tmp/tim-testpg]        start (or find running) and print TIM_TEST_DATABASE_URL=<admin URL>
//	testpg [-dir /tmp/tim-testpg] -stop  stop it; the data stays for the next start
//
// The cluster is non-durable (fsync off): it holds only test databases.
// Starting it when it already runs just prints the URL again.
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

	"tim/internal/pgcluster"
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
	return nil
}

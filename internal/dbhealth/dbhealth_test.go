package dbhealth_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tim/internal/dbhealth"
	"tim/internal/pgcluster"
	"tim/internal/store"
	"tim/internal/testlog"
)

// TestOutageOfARealDatabase stops a real PostgreSQL under a store whose
// failed calls are logged through the monitor, then starts it again.
func TestOutageOfARealDatabase(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// A short path open to the postgres user: the socket stays in the
	// cluster directory, so the store's URL survives the restart.
	parent, err := os.MkdirTemp("", "tim-dbhealth-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "pg")
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() { _ = pgcluster.StopDir(context.Background(), pgcluster.Options{Dir: dir}) })
	st, err := store.Open(ctx, cluster.URL("postgres"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)

	const summary = 300 * time.Millisecond
	var log testlog.Buffer
	mon := dbhealth.New(slog.NewTextHandler(&log, nil), dbhealth.Options{
		Unavailable: store.Unavailable, Summary: summary, Probe: 50 * time.Millisecond,
	})
	logger := slog.New(mon.Handler())
	derived := logger.With(slog.String("component", "derived")).WithGroup("g")
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); mon.Watch(watchCtx, st) }()
	t.Cleanup(func() { stopWatch(); <-watched })

	if err := st.Ping(ctx); err != nil {
		t.Fatalf("ping before the outage: %v", err)
	}
	logger.Error("unrelated before", slog.Any("err", errors.New("boom")))

	if err := cluster.Stop(ctx); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	failed := 0
	for stop := time.Now().Add(4 * summary); time.Now().Before(stop); failed++ {
		err := st.Ping(ctx)
		if err == nil {
			t.Fatal("ping succeeded with PostgreSQL stopped")
		}
		if !store.Unavailable(err) {
			t.Fatalf("ping error not taken for an outage: %v", err)
		}
		if failed%2 == 0 {
			logger.ErrorContext(ctx, "ping failed", slog.Any("err", err))
		} else {
			derived.WarnContext(ctx, "ping failed", slog.Any("err", err))
		}
		time.Sleep(5 * time.Millisecond) // the scenario: calls spread over four summaries
	}
	if !mon.Down() {
		t.Error("monitor does not take the database for down")
	}
	logger.Error("unrelated during", slog.Any("err", errors.New("boom")))

	if _, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true}); err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
	// Nothing calls the database now: the monitor's probe finds it back.
	re := regexp.MustCompile(`msg="database reachable again" outage=(\S+) failed_calls=(\d+)`)
	m := log.Wait(t, 30*time.Second, 0, re)
	if mon.Down() {
		t.Error("monitor still takes the database for down")
	}
	out := log.String()
	t.Logf("%d failed calls logged through the monitor; it wrote:\n%s", failed, out)

	if n, _ := strconv.Atoi(m[2]); n != failed {
		t.Errorf("recovery line counts %d failed calls, want %d", n, failed)
	}
	if strings.Contains(out, `msg="ping failed"`) {
		t.Error("a failed call was logged on its own")
	}
	for _, want := range []string{`msg="unrelated before"`, `msg="unrelated during"`} {
		if !strings.Contains(out, want) {
			t.Errorf("%s, an error that is not about the database, was not logged", want)
		}
	}
	if n := strings.Count(out, `msg="database unreachable" first_failure="ping failed"`); n != 1 {
		t.Errorf("%d lines say the database is unreachable, want 1", n)
	}
	// One summary per interval at most while the outage goes on (it lasts
	// until the restarted server answers the probe, which on a busy machine
	// can be well after the last failed call), each with the calls since
	// the previous line.
	outage, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("recovery line's outage %q: %v", m[1], err)
	}
	sums := regexp.MustCompile(`msg="database still unreachable" outage=\S+ failed_calls=(\d+)`).FindAllStringSubmatch(out, -1)
	if most := int(outage/summary) + 1; len(sums) < 2 || len(sums) > most {
		t.Errorf("%d summaries over an outage of %v with a %v interval, want 2 to %d", len(sums), outage, summary, most)
	}
	counted := 0
	for _, s := range sums {
		n, _ := strconv.Atoi(s[1])
		counted += n
	}
	if counted > failed {
		t.Errorf("summaries count %d failed calls, more than the %d made", counted, failed)
	}
}

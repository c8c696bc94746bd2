// Package testdb gives each test its own fresh database on a real
// PostgreSQL server, with Tim's migrations already applied.
//
// Migrating a database takes far longer than copying one, so the
// migrations are applied once per server, to a template database named
// for their content (tim_template_<hash>), and every test database is a
// copy of it (CREATE DATABASE ... TEMPLATE). The template records the
// migrations in schema_migrations exactly as store.Migrate does, so
// store.Migrate on a test database finds nothing to do. The template
// refuses connections, which would make copying it fail, and stays on
// the server for the next run; a new set of migrations gets a new one.
//
// The server is the one named by TIM_TEST_DATABASE_URL (an admin URL,
// allowed to CREATE DATABASE) when that is set; `make test` sets it to a
// cluster shared by every test package (see cmd/testpg). Otherwise each
// test process starts one private, non-durable cluster of its own under
// os.TempDir(), which requires the package's TestMain to call Main:
//
//	func TestMain(m *testing.M) { testdb.Main(m) }
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tim/internal/pgcluster"
)

// EnvURL names the environment variable holding the admin URL of the
// server to create test databases on.
const EnvURL = "TIM_TEST_DATABASE_URL"

// Names of the private cluster's directories.
const (
	privatePattern = "tim-testdb-" // os.TempDir()/tim-testdb-<random>
	ownerFile      = "owner.pid"   // pid of the test process that owns it
	clusterName    = "postgres"    // the pgcluster directory inside it
)

// Timeouts for database administration and for the private cluster.
const (
	adminTimeout   = 30 * time.Second
	clusterTimeout = 2 * time.Minute
)

// shared is the private cluster of this test process, started at most once
// by New and stopped by Main, and the name of the migrated template found
// or built on first use. It is the package's only global state.
var shared struct {
	mainUsed atomic.Bool // Main is running the tests

	templateOnce sync.Once
	template     string // tim_template_<hash>
	templateErr  error

	once     sync.Once
	dir      string // the directory holding ownerFile and the cluster
	cluster  *pgcluster.Cluster
	adminURL string
	err      error
}

// Main runs the tests of a package, then stops the private cluster if one
// was started and removes its directory, then runs the after checks (an
// error fails the run), and exits with the tests' status. Call it from
// TestMain.
func Main(m *testing.M, after ...func() error) {
	shared.mainUsed.Store(true)
	code := m.Run()
	if err := stopShared(); err != nil {
		fmt.Fprintf(os.Stderr, "testdb: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	for _, check := range after {
		if err := check(); err != nil {
			fmt.Fprintf(os.Stderr, "after the tests: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// New creates a database named tim_test_<random hex> with every migration
// applied, as a copy of the migrated template, and returns a URL to connect
// to it. The database is dropped, even if connections remain, when the
// test ends.
func New(t testing.TB) string {
	t.Helper()
	admin, err := adminURL()
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	tmpl, err := migratedTemplate(admin)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return create(t, admin, tmpl)
}

// NewEmpty is New without the migrations: the database is a copy of
// template0, for tests of migrating itself.
func NewEmpty(t testing.TB) string {
	t.Helper()
	admin, err := adminURL()
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return create(t, admin, "template0")
}

// create makes a database tim_test_<random hex> as a copy of template tmpl,
// drops it at the end of the test, and returns its URL.
func create(t testing.TB, admin, tmpl string) string {
	t.Helper()
	name, err := randomName("tim_test_")
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	ident := pgx.Identifier{name}.Sanitize()

	// Copying fails while another session is connected to the template.
	// Nothing can be: template0 and the migrated template both refuse
	// connections, and copies may run concurrently.
	if err := execAdmin(admin, "CREATE DATABASE "+ident+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize()); err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := execAdmin(admin, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("testdb: drop database %s: %v", name, err)
		}
	})

	u, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return u
}

// randomName returns prefix followed by 16 random hex digits.
func randomName(prefix string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random database name: %w", err)
	}
	return prefix + hex.EncodeToString(b[:]), nil
}

// adminURL returns the URL of the server's maintenance database, starting
// the private cluster on first use when no server is configured.
func adminURL() (string, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return u, nil
	}
	if !shared.mainUsed.Load() {
		return "", fmt.Errorf("%s is not set, and a private PostgreSQL needs this package's TestMain to call testdb.Main, "+
			"which stops it: add `func TestMain(m *testing.M) { testdb.Main(m) }`", EnvURL)
	}
	shared.once.Do(startShared)
	return shared.adminURL, shared.err
}

// startShared starts this process's private cluster. Clusters left by
// test processes that died before Main could stop them are cleaned up
// first.
func startShared() {
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reapOrphans(ctx, logger)

	dir, err := os.MkdirTemp("", privatePattern)
	if err != nil {
		shared.err = fmt.Errorf("create private cluster directory: %w", err)
		return
	}
	shared.dir = dir
	// Mode 0755 so that the postgres user can reach the cluster when the
	// tests run as root.
	if err := os.Chmod(dir, 0o755); err != nil {
		shared.err = fmt.Errorf("open private cluster directory: %w", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		shared.err = fmt.Errorf("write owner of private cluster: %w", err)
		return
	}
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, clusterName), Fast: true, Logger: logger})
	if err != nil {
		shared.err = fmt.Errorf("start a private PostgreSQL (or set %s): %w", EnvURL, err)
		return
	}
	shared.cluster = c
	shared.adminURL = c.URL("postgres")
}

// stopShared stops the private cluster, if any, and removes its directory.
func stopShared() error {
	if shared.dir == "" {
		return nil
	}
	if shared.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
		defer cancel()
		if err := shared.cluster.Stop(ctx); err != nil {
			return fmt.Errorf("stop private PostgreSQL: %w", err)
		}
	}
	if err := os.RemoveAll(shared.dir); err != nil {
		return fmt.Errorf("remove private PostgreSQL: %w", err)
	}
	return nil
}

// reapOrphans stops and removes private clusters whose owning test process
// is gone, for example killed by a test timeout. Failures are only logged:
// they do not stop this process from starting its own cluster.
func reapOrphans(ctx context.Context, logger *slog.Logger) {
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), privatePattern+"*"))
	if err != nil {
		return
	}
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not ours, or its owner is still setting it up
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue // owner alive (or unknown): leave it
		}
		if err := pgcluster.StopDir(ctx, pgcluster.Options{Dir: filepath.Join(dir, clusterName), Logger: logger}); err != nil {
			logger.WarnContext(ctx, "stop orphaned test cluster", slog.String("dir", dir), slog.Any("err", err))
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			logger.WarnContext(ctx, "remove orphaned test cluster", slog.String("dir", dir), slog.Any("err", err))
		}
	}
}

// execAdmin runs one statement on the admin connection.
func execAdmin(adminURL, sql string) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to admin database: %w", err)
	}
	defer func() {
		if cerr := conn.Close(ctx); cerr != nil && err == nil {
			err = fmt.Errorf("close admin connection: %w", cerr)
		}
	}()
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// withDatabase returns adminURL pointed at database name. It accepts both
// URLs (postgres://...) and keyword/value strings (host=... user=...).
func withDatabase(adminURL, name string) (string, error) {
	if strings.HasPrefix(adminURL, "postgres://") || strings.HasPrefix(adminURL, "postgresql://") {
		u, err := url.Parse(adminURL)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvURL, err)
		}
		u.Path, u.RawPath = "/"+name, ""
		q := u.Query()
		if q.Has("dbname") || q.Has("database") {
			q.Del("dbname")
			q.Del("database")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// In a keyword/value string the last occurrence of a keyword wins.
	return adminURL + " dbname=" + name, nil
}

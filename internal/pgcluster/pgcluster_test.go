package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tim/internal/testlog"
	"tim/internal/testwait"
)

// clusterDir returns a fresh directory for a cluster, removed after the
// test. Unlike t.TempDir (mode 0700), it is open to the postgres user that
// the server runs as when the tests run as root.
func clusterDir(t *testing.T, name string) string {
	t.Helper()
	parent, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(parent); err != nil {
			t.Errorf("remove %s: %v", parent, err)
		}
	})
	return filepath.Join(parent, name)
}

// startCluster starts a Fast cluster in dir and stops it after the test.
func startCluster(t *testing.T, dir string) *Cluster {
	t.Helper()
	c, err := Start(t.Context(), Options{Dir: dir, Fast: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

func testLogger(t *testing.T) *slog.Logger {
	return testlog.Logger(t, slog.LevelDebug)
}

// query runs sql on database dbname and returns the single integer it
// selects.
func query(t *testing.T, c *Cluster, dbname, sql string) int {
	t.Helper()
	var n int
	withConn(t, c, dbname, func(ctx context.Context, conn *pgx.Conn) {
		if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	})
	return n
}

// execSQL runs statements on database dbname.
func execSQL(t *testing.T, c *Cluster, dbname, sql string) {
	t.Helper()
	withConn(t, c, dbname, func(ctx context.Context, conn *pgx.Conn) {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	})
}

// withConn calls f with a connection to database dbname.
func withConn(t *testing.T, c *Cluster, dbname string, f func(context.Context, *pgx.Conn)) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, c.URL(dbname))
	if err != nil {
		t.Fatalf("connect to %s: %v", dbname, err)
	}
	defer func() {
		if err := conn.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	f(ctx, conn)
}

func TestStartStopRestart(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t, "postgres")

	c := startCluster(t, dir)
	if got := query(t, c, "postgres", "SELECT 1"); got != 1 {
		t.Fatalf("SELECT 1 = %d", got)
	}
	if got := query(t, c, "postgres", "SELECT setting::int FROM pg_settings WHERE name = 'max_connections'"); got != 200 {
		t.Errorf("max_connections = %d, want 200", got)
	}
	for range 2 { // the second call finds the database
		if err := c.EnsureDatabase(t.Context(), "tim"); err != nil {
			t.Fatalf("EnsureDatabase: %v", err)
		}
	}
	execSQL(t, c, "tim", "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
	if err := c.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(t.Context()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, logName)); err != nil {
		t.Errorf("server log: %v", err)
	}

	// The second start reuses the initialised data.
	c = startCluster(t, dir)
	if got := query(t, c, "tim", "SELECT n FROM kept"); got != 42 {
		t.Fatalf("after restart, kept = %d, want 42", got)
	}
}

func TestStartReusesRunningServer(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t, "postgres")

	first := startCluster(t, dir)
	// A second Start on the same directory, as after a crash of the
	// process that started the server, takes the running server over.
	second := startCluster(t, dir)
	if first.URL("x") != second.URL("x") {
		t.Errorf("URLs differ: %s and %s", first.URL("x"), second.URL("x"))
	}
	if got := query(t, second, "postgres", "SELECT 1"); got != 1 {
		t.Fatalf("SELECT 1 = %d", got)
	}

	// StopDir stops it without a Cluster value; Stop then has nothing to do.
	if err := StopDir(t.Context(), Options{Dir: dir}); err != nil {
		t.Fatalf("StopDir: %v", err)
	}
	if running, err := second.running(t.Context()); err != nil || running {
		t.Fatalf("after StopDir: running = %v, err = %v", running, err)
	}
}

func TestStartAfterKill(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t, "postgres")

	startCluster(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, dataName, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Wait for the postmaster to be gone (it is not our child, so poll).
	testwait.Eventually(t, 10*time.Second, func() error {
		if syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("postmaster %d survived SIGKILL", pid)
		}
		return nil
	})

	c := startCluster(t, dir)
	if got := query(t, c, "postgres", "SELECT 1"); got != 1 {
		t.Fatalf("SELECT 1 = %d", got)
	}
}

func TestLongDirUsesShortSocketDir(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t, strings.Repeat("d", 120))

	c := startCluster(t, dir)
	if len(c.socketDir) > 40 || !strings.HasPrefix(filepath.Base(c.socketDir), socketGlob) {
		t.Errorf("socket directory %s, want a short private one", c.socketDir)
	}
	if got := query(t, c, "postgres", "SELECT 1"); got != 1 {
		t.Fatalf("SELECT 1 = %d", got)
	}
	socketDir := c.socketDir
	if err := c.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(socketDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket directory %s left behind: %v", socketDir, err)
	}
}

func TestNoBinaries(t *testing.T) {
	t.Parallel()
	_, err := Start(t.Context(), Options{Dir: filepath.Join(t.TempDir(), "postgres"), BinDir: t.TempDir()})
	if !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("Start error = %v, want ErrNoBinaries", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans several lines: %q", err)
	}
	const want = `no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and PATH): ` +
		`install them with "apt-get install -y --no-install-recommends postgresql", or set TIM_DATABASE_URL`
	if ErrNoBinaries.Error() != want {
		t.Errorf("ErrNoBinaries = %q, want %q", ErrNoBinaries, want)
	}
}

func TestURLParses(t *testing.T) {
	t.Parallel()
	c := &Cluster{socketDir: "/tmp/tim-pg-123", port: defaultPort}
	cfg, err := pgx.ParseConfig(c.URL("tim"))
	if err != nil {
		t.Fatalf("ParseConfig(%s): %v", c.URL("tim"), err)
	}
	if cfg.Host != "/tmp/tim-pg-123" || cfg.Port != defaultPort || cfg.Database != "tim" || cfg.User != "postgres" {
		t.Errorf("parsed %s as host %q port %d database %q user %q", c.URL("tim"), cfg.Host, cfg.Port, cfg.Database, cfg.User)
	}
}

func TestVersionOrder(t *testing.T) {
	t.Parallel()
	if got := versionOf("/usr/lib/postgresql/9.6/bin"); len(got) != 2 || got[0] != 9 || got[1] != 6 {
		t.Errorf("versionOf 9.6 = %v", got)
	}
	if versionOf("/usr/lib/postgresql/x/bin") != nil {
		t.Error("versionOf x is not nil")
	}
}

// TestUnreachableDirNamesTheBlockingDirectory: when Tim runs as root, the
// server runs as the postgres user, which cannot pass a directory of mode
// 0700 owned by root. Start names that very directory (not some other
// parent), and removes the directories it created for the attempt.
func TestUnreachableDirNamesTheBlockingDirectory(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root runs PostgreSQL as another user")
	}
	top := filepath.Dir(clusterDir(t, "x")) // mode 0755, owned by root
	blocking := filepath.Join(top, "private")
	if err := os.Mkdir(blocking, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(blocking, 0o700); err != nil { // whatever the umask
		t.Fatal(err)
	}
	open := filepath.Join(blocking, "open") // 0755 below the blocking one
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(open, "data")

	_, err := Start(t.Context(), Options{Dir: filepath.Join(dataDir, "postgres"), Fast: true, Logger: testLogger(t)})
	if err == nil {
		t.Fatal("Start succeeded in a directory the postgres user cannot reach")
	}
	msg := err.Error()
	t.Logf("refused as expected: %v", err)
	if !strings.Contains(msg, "cannot enter "+blocking+" (mode 0700, owner root;") {
		t.Errorf("error does not name %s, mode 0700, owner root:\n%s", blocking, msg)
	}
	if strings.Contains(msg, "/root") {
		t.Errorf("error blames /root, which is not on the way:\n%s", msg)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left behind after the refused start: %v", dataDir, err)
	}
	if _, err := os.Stat(open); err != nil {
		t.Errorf("%s, which existed before, is gone: %v", open, err)
	}

	// Opened to others, the same path works.
	if err := os.Chmod(blocking, 0o711); err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, filepath.Join(dataDir, "postgres"))
	if got := query(t, c, "postgres", "SELECT 1"); got != 1 {
		t.Fatalf("SELECT 1 = %d", got)
	}
}

// TestMaySearch applies the owner, group and others bits in Unix order.
func TestMaySearch(t *testing.T) {
	t.Parallel()
	r := &runner{cred: &syscall.Credential{Uid: 100, Gid: 200, Groups: []uint32{300}}}
	for _, tc := range []struct {
		perm     os.FileMode
		uid, gid uint32
		want     bool
	}{
		{0o700, 100, 0, true},    // owner with x
		{0o077, 100, 200, false}, // owner without x: the group bits do not apply
		{0o710, 0, 200, true},    // primary group
		{0o710, 0, 300, true},    // supplementary group
		{0o701, 0, 300, false},   // group without x: the others bits do not apply
		{0o701, 0, 0, true},      // others
		{0o770, 0, 0, false},     // others without x (/root is 0700)
	} {
		if got := r.maySearch(tc.perm, tc.uid, tc.gid); got != tc.want {
			t.Errorf("maySearch(%04o, uid %d, gid %d) = %v, want %v", tc.perm, tc.uid, tc.gid, got, tc.want)
		}
	}
}

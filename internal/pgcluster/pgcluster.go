// Package pgcluster runs a private PostgreSQL cluster for Tim: the server
// uses one when no database URL is configured, and tests use one when no
// test server is given.
//
// A cluster directory holds:
//
//	data/          the PostgreSQL data directory (PGDATA)
//	postgres.log   everything the server writes (appended across starts)
//
// The server listens on a Unix socket only (listen_addresses is empty), in
// the cluster directory itself or, when that path would be too long for a
// socket, in a private directory under /tmp. It accepts the superuser
// "postgres" without a password over that socket ("trust"), so the socket
// and its directory are private (mode 0700): only the user the server runs
// as, and root, can connect.
//
// PostgreSQL refuses to run as root. When Tim runs as root, every
// PostgreSQL program is run as the "postgres" system user, the cluster
// directory is given to that user, and Start fails with a clear error if
// that user cannot reach the directory (each parent needs o+x). Nothing is
// moved elsewhere behind the caller's back.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"tim/internal/store"
)

// Names inside the cluster directory and the data directory.
const (
	dataName    = "data"
	initName    = "data.initdb" // initdb works here, then it is renamed to dataName
	logName     = "postgres.log"
	confName    = "tim.conf" // settings Tim owns, included from postgresql.conf
	socketGlob  = "tim-pg-"  // prefix of private socket directories under /tmp
	defaultPort = 5432
)

// Timeouts for the programs and the retry loop.
const (
	pgctlWait    = 60 * time.Second // -t for pg_ctl start and stop
	startRetries = 10 * time.Second // keep retrying start this long, e.g. after a kill -9
	retryPause   = 500 * time.Millisecond
	pingTimeout  = 5 * time.Second
)

// maxSocketPath is the longest socket path used as is: sun_path holds 108
// bytes, including the terminating NUL, on Linux.
const maxSocketPath = 100

// Options configure Start.
type Options struct {
	// Dir is the cluster directory, created if missing, e.g. <data>/postgres.
	Dir string
	// BinDir holds initdb, pg_ctl and postgres. Default: the highest
	// version under /usr/lib/postgresql/*/bin, then the directory of
	// pg_ctl on PATH.
	BinDir string
	// Fast turns durability off (fsync, synchronous_commit and
	// full_page_writes) for tests. Never set it for data that matters.
	Fast bool
	// Logger receives progress and warnings. Default: discard.
	Logger *slog.Logger
}

// Cluster is a running private PostgreSQL cluster.
type Cluster struct {
	dir       string
	dataDir   string
	logFile   string
	socketDir string
	port      int
	run       *runner
	logger    *slog.Logger

	mu      sync.Mutex
	stopped bool
}

// Start initialises the cluster in opts.Dir on first use, then starts it.
// A server already running on that directory, for example one left by a
// crashed process, is reused when it answers and restarted when it does
// not. Start fails with ErrNoBinaries when PostgreSQL is not installed.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	c, err := open(opts.Dir, opts.BinDir, opts.Logger)
	if err != nil {
		return nil, err
	}
	if err := c.prepareDir(ctx); err != nil {
		return nil, err
	}
	if err := c.initialise(ctx, opts.Fast); err != nil {
		return nil, err
	}

	running, err := c.running(ctx)
	if err != nil {
		return nil, err
	}
	if running {
		reused, err := c.adopt(ctx, opts.Fast)
		if err != nil {
			return nil, err
		}
		if reused {
			return c, nil
		}
	}

	if err := c.chooseSocketDir(); err != nil {
		return nil, err
	}
	if err := c.writeConfig(opts.Fast); err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		c.removeSocketDir()
		return nil, err
	}
	c.logger.InfoContext(ctx, "started PostgreSQL",
		slog.String("dir", c.dir), slog.String("socket_dir", c.socketDir), slog.Bool("fast", opts.Fast))
	return c, nil
}

// StopDir stops the cluster running in opts.Dir, if any, without starting
// it first; only Dir, BinDir and Logger are used.
func StopDir(ctx context.Context, opts Options) error {
	c, err := open(opts.Dir, opts.BinDir, opts.Logger)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		return nil // never initialised: nothing can be running
	}
	// The pid file names the socket directory; read it before the server
	// removes it on shutdown.
	if socketDir, _, err := c.readPidFile(); err == nil {
		c.socketDir = socketDir
	}
	return c.Stop(ctx)
}

// open resolves the directories and binaries of the cluster in dir. A nil
// logger discards.
func open(dir, binDir string, logger *slog.Logger) (*Cluster, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if dir == "" {
		return nil, errors.New("pgcluster: no cluster directory given")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve cluster directory: %w", err)
	}
	bin, err := findBinDir(binDir)
	if err != nil {
		return nil, err
	}
	r, err := newRunner(bin, dir)
	if err != nil {
		return nil, err
	}
	return &Cluster{
		dir:     dir,
		dataDir: filepath.Join(dir, dataName),
		logFile: filepath.Join(dir, logName),
		port:    defaultPort,
		run:     r,
		logger:  logger,
	}, nil
}

// URL returns a pgx connection URL for database dbname as the superuser
// postgres, over the cluster's Unix socket.
func (c *Cluster) URL(dbname string) string {
	q := url.Values{
		"host":    {c.socketDir},
		"port":    {strconv.Itoa(c.port)},
		"sslmode": {"disable"},
	}
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + dbname, RawQuery: q.Encode()}
	return u.String()
}

// EnsureDatabase creates database name unless it exists.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	created, err := store.EnsureDatabase(ctx, c.URL("postgres"), name)
	if err != nil {
		return err
	}
	if created {
		c.logger.InfoContext(ctx, "created database", slog.String("name", name))
	}
	return nil
}

// Stop shuts the server down (fast mode: sessions are disconnected,
// committed data is kept). Calling it again, or on a server that is not
// running, does nothing.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	if err := c.stop(ctx); err != nil {
		return err
	}
	c.stopped = true
	c.removeSocketDir()
	return nil
}

// prepareDir creates the cluster directory, hands it to the server user
// and checks that this user can reach it.
func (c *Cluster) prepareDir(ctx context.Context) error {
	// Parents we create stay open (0755) so that the server user can pass
	// through them; the cluster directory itself, which holds the socket
	// that admits the superuser without a password, is private (0700).
	if err := os.MkdirAll(filepath.Dir(c.dir), 0o755); err != nil {
		return fmt.Errorf("create cluster directory: %w", err)
	}
	if err := os.Mkdir(c.dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create cluster directory: %w", err)
	}
	if err := os.Chmod(c.dir, 0o700); err != nil {
		return fmt.Errorf("restrict cluster directory: %w", err)
	}
	if err := c.run.chown(c.dir); err != nil {
		return err
	}
	return c.run.checkReachable(ctx)
}

// initialise runs initdb unless the data directory already holds a
// cluster. initdb works in a scratch directory renamed into place when
// done, so a run interrupted half way is redone rather than trusted.
func (c *Cluster) initialise(ctx context.Context, fast bool) error {
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("inspect data directory: %w", err)
	}

	scratch := filepath.Join(c.dir, initName)
	if err := os.RemoveAll(scratch); err != nil {
		return fmt.Errorf("remove interrupted initdb: %w", err)
	}
	args := []string{
		"--pgdata", scratch,
		"--username", "postgres",
		"--auth", "trust", // local connections only: the server listens on no TCP address
		"--encoding", "UTF8",
		"--locale", "C",
		"--no-instructions",
	}
	if fast {
		args = append(args, "--no-sync")
	}
	c.logger.InfoContext(ctx, "initialising PostgreSQL cluster", slog.String("dir", c.dataDir))
	out, err := c.run.run(ctx, "initdb", args...)
	if err != nil {
		return fmt.Errorf("initialise cluster: %w", err)
	}
	c.logger.DebugContext(ctx, "initdb done", slog.String("output", out))

	// Settings Tim owns live in their own file, rewritten on every start;
	// appended last, they override initdb's defaults.
	f, err := os.OpenFile(filepath.Join(scratch, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open postgresql.conf: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# Settings managed by Tim.\ninclude = '%s'\n", confName)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append include to postgresql.conf: %w", err)
	}

	if err := os.Rename(scratch, c.dataDir); err != nil {
		return fmt.Errorf("move initialised cluster into place: %w", err)
	}
	return nil
}

// running reports whether a postmaster is alive on the data directory.
func (c *Cluster) running(ctx context.Context) (bool, error) {
	code, err := c.run.exitCode(ctx, "pg_ctl", "status", "--pgdata", c.dataDir)
	if err != nil {
		return false, err
	}
	// 0: running; 3: not running; 4: no accessible data directory.
	switch code {
	case 0:
		return true, nil
	case 3:
		return false, nil
	default:
		return false, fmt.Errorf("pg_ctl status on %s: exit status %d", c.dataDir, code)
	}
}

// adopt takes over a postmaster already running on the data directory. It
// returns true when the server answers on the socket its pid file names;
// Tim's settings are then rewritten and reloaded (the durability settings
// take effect without a restart). Otherwise the server is stopped and
// false is returned so that the caller starts it afresh.
func (c *Cluster) adopt(ctx context.Context, fast bool) (bool, error) {
	socketDir, port, err := c.readPidFile()
	if err == nil {
		c.socketDir, c.port = socketDir, port
		err = c.ping(ctx)
	}
	if err == nil {
		if err := c.writeConfig(fast); err != nil {
			return false, err
		}
		if _, err := c.run.run(ctx, "pg_ctl", "reload", "--pgdata", c.dataDir); err != nil {
			return false, fmt.Errorf("reload PostgreSQL settings: %w", err)
		}
		c.logger.InfoContext(ctx, "reusing PostgreSQL already running",
			slog.String("dir", c.dir), slog.String("socket_dir", c.socketDir))
		return true, nil
	}

	c.logger.WarnContext(ctx, "PostgreSQL is running but does not answer; restarting it",
		slog.String("dir", c.dir), slog.Any("err", err))
	if err := c.stop(ctx); err != nil {
		return false, err
	}
	c.removeSocketDir()
	c.socketDir, c.port = "", defaultPort
	return false, nil
}

// readPidFile returns the socket directory and port recorded in
// postmaster.pid (lines 4 and 5 of that file).
func (c *Cluster) readPidFile() (socketDir string, port int, err error) {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return "", 0, fmt.Errorf("read postmaster.pid: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 5 || strings.TrimSpace(lines[4]) == "" {
		return "", 0, errors.New("postmaster.pid names no socket directory")
	}
	port, err = strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return "", 0, fmt.Errorf("parse port in postmaster.pid: %w", err)
	}
	return strings.TrimSpace(lines[4]), port, nil
}

// ping connects once and checks that the server answers.
func (c *Cluster) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return store.PingServer(ctx, c.URL("postgres"))
}

// chooseSocketDir puts the socket in the cluster directory when the path
// fits in a socket address, else in a new private directory under /tmp
// (not os.TempDir, which may itself be long).
func (c *Cluster) chooseSocketDir() error {
	if len(filepath.Join(c.dir, ".s.PGSQL."+strconv.Itoa(c.port))) <= maxSocketPath {
		c.socketDir = c.dir
		return nil
	}
	dir, err := os.MkdirTemp("/tmp", socketGlob)
	if err != nil {
		return fmt.Errorf("create socket directory: %w", err)
	}
	c.socketDir = dir
	return c.run.chown(dir)
}

// removeSocketDir removes a private socket directory Start created under
// /tmp. Failures are only logged: the directory is empty and harmless.
func (c *Cluster) removeSocketDir() {
	if c.socketDir == "" || c.socketDir == c.dir || !strings.HasPrefix(filepath.Base(c.socketDir), socketGlob) {
		return
	}
	if err := os.RemoveAll(c.socketDir); err != nil {
		c.logger.Warn("remove socket directory", slog.String("dir", c.socketDir), slog.Any("err", err))
	}
}

// writeConfig writes the settings Tim owns into the data directory.
func (c *Cluster) writeConfig(fast bool) error {
	durable := "on"
	if fast {
		durable = "off"
	}
	settings := [][2]string{
		{"listen_addresses", ""}, // Unix socket only
		{"unix_socket_directories", c.socketDir},
		{"unix_socket_permissions", "0700"}, // only the server user (and root) may connect
		{"port", strconv.Itoa(c.port)},
		{"max_connections", "200"},
		{"fsync", durable},
		{"synchronous_commit", durable},
		{"full_page_writes", durable},
	}
	var b strings.Builder
	b.WriteString("# Written by Tim on every start; edits are lost.\n")
	for _, s := range settings {
		fmt.Fprintf(&b, "%s = '%s'\n", s[0], strings.ReplaceAll(s[1], "'", "''"))
	}
	path := filepath.Join(c.dataDir, confName)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", confName, err)
	}
	return c.run.chown(path)
}

// start runs pg_ctl start, retrying for a while: after a kill -9 the old
// server's processes and pid file can block a new one for a few seconds.
func (c *Cluster) start(ctx context.Context) error {
	deadline := time.Now().Add(startRetries)
	for {
		_, err := c.run.run(ctx, "pg_ctl", "start",
			"--pgdata", c.dataDir,
			"--log", c.logFile,
			"--wait", "--timeout", strconv.Itoa(int(pgctlWait.Seconds())),
			"--silent")
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("start PostgreSQL (server log %s): %w%s", c.logFile, err, c.logTail())
		}
		c.logger.WarnContext(ctx, "PostgreSQL did not start; retrying", slog.Any("err", err))
		select {
		case <-ctx.Done():
			return fmt.Errorf("start PostgreSQL: %w", ctx.Err())
		case <-time.After(retryPause):
		}
	}
}

// stop shuts the server down if it runs: fast mode first, immediate mode
// (crash-like, recovered on the next start) if that fails. A pg_ctl
// failure counts as success when the server is gone anyway, as happens
// when it dies (e.g. kill -9) while being stopped.
func (c *Cluster) stop(ctx context.Context) error {
	running, err := c.running(ctx)
	if err != nil || !running {
		return err
	}
	var stopErr error
	for _, mode := range []string{"fast", "immediate"} {
		_, stopErr = c.run.run(ctx, "pg_ctl", "stop", "--pgdata", c.dataDir, "--mode", mode,
			"--wait", "--timeout", strconv.Itoa(int(pgctlWait.Seconds())), "--silent")
		if stopErr == nil {
			c.logger.InfoContext(ctx, "stopped PostgreSQL", slog.String("dir", c.dir))
			return nil
		}
		if running, err := c.running(ctx); err == nil && !running {
			c.logger.InfoContext(ctx, "PostgreSQL is gone", slog.String("dir", c.dir))
			return nil
		}
		c.logger.WarnContext(ctx, "PostgreSQL did not stop", slog.String("mode", mode), slog.Any("err", stopErr))
	}
	return fmt.Errorf("stop PostgreSQL: %w", stopErr)
}

// logTail returns the last lines of the server log, to explain a failed
// start in the error itself.
func (c *Cluster) logTail() string {
	f, err := os.Open(c.logFile)
	if err != nil {
		return ""
	}
	defer f.Close() //nolint:errcheck // read-only
	const max = 2048
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		if _, err := f.Seek(-max, io.SeekEnd); err != nil {
			return ""
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "\n" + strings.Join(lines, "\n")
}

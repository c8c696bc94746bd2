package testdb

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"tim/internal/store"
)

// migrate runs store.Migrate on the database at url and returns its log.
func migrate(t *testing.T, url string) string {
	t.Helper()
	st, err := store.Open(t.Context(), url, 1)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer st.Close()
	var log bytes.Buffer
	if err := st.Migrate(t.Context(), slog.New(slog.NewTextHandler(&log, nil))); err != nil {
		t.Fatalf("store.Migrate: %v", err)
	}
	return log.String()
}

// schema describes the public schema of the database at url: columns,
// indexes, constraints and the recorded migrations, one line each.
func schema(t *testing.T, url string) []string {
	t.Helper()
	conn := connect(t, url)
	var lines []string
	for _, q := range []string{
		`SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
		   FROM information_schema.columns WHERE table_schema = 'public'`,
		`SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'`,
		`SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
		   FROM pg_constraint WHERE connamespace = 'public'::regnamespace`,
	} {
		rows, err := conn.Query(t.Context(), q)
		if err != nil {
			t.Fatalf("describe schema: %v", err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("describe schema: %v", err)
		}
		lines = append(lines, got...)
	}
	var recorded []string
	if slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "column schema_migrations.") }) {
		rows, err := conn.Query(t.Context(), "SELECT 'migration ' || name FROM schema_migrations")
		if err != nil {
			t.Fatalf("list migrations: %v", err)
		}
		if recorded, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatalf("list migrations: %v", err)
		}
	}
	lines = append(lines, recorded...)
	slices.Sort(lines)
	return lines
}

// minus returns the lines of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, l)
		}
	}
	return out
}

// TestNewIsMigrated: a database from New has exactly the schema that
// store.Migrate gives an empty one, and store.Migrate on it applies
// nothing.
func TestNewIsMigrated(t *testing.T) {
	t.Parallel()
	empty := NewEmpty(t)
	if got := schema(t, empty); len(got) != 0 {
		t.Fatalf("NewEmpty gave a database with a schema: %q", got)
	}
	if log := migrate(t, empty); !strings.Contains(log, "applied migration") {
		t.Fatalf("store.Migrate applied nothing to an empty database:\n%s", log)
	}
	want := schema(t, empty)

	url := New(t)
	if got := schema(t, url); !slices.Equal(got, want) {
		t.Errorf("schema of New differs from store.Migrate's:\nonly in New: %q\nonly in store.Migrate's: %q", minus(got, want), minus(want, got))
	}
	if log := migrate(t, url); log != "" {
		t.Errorf("store.Migrate on a database from New did something:\n%s", log)
	}
}

// TestNewConcurrently: many tests of one process copy the template at
// once.
func TestNewConcurrently(t *testing.T) {
	t.Parallel()
	for i := range 8 {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			conn := connect(t, New(t))
			var n int
			if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
				t.Fatalf("copy %d: %v", i, err)
			}
			if n == 0 {
				t.Errorf("copy %d has no migrations recorded", i)
			}
		})
	}
}

// TestEnsureTemplate: sessions racing to build one template (as test
// processes do, each with its own session) build it once, and the
// template refuses connections.
func TestEnsureTemplate(t *testing.T) {
	t.Parallel()
	admin, err := adminURL()
	if err != nil {
		t.Fatal(err)
	}
	name, err := randomName("tim_template_test_")
	if err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE a (n int);")},
		"0002_b.sql": {Data: []byte("INSERT INTO a VALUES (1);")},
	}
	conn := connect(t, admin)
	t.Cleanup(func() {
		if err := dropDatabase(context.Background(), conn, name); err != nil {
			t.Errorf("drop template: %v", err)
		}
	})

	// A build left by a process that died is replaced.
	if _, err := conn.Exec(t.Context(), "CREATE DATABASE "+pgx.Identifier{name + "_build"}.Sanitize()); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = ensureTemplate(t.Context(), admin, name, files) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("ensureTemplate: %v", err)
	}

	var allowConn, isTemplate bool
	if err := conn.QueryRow(t.Context(), "SELECT datallowconn, datistemplate FROM pg_database WHERE datname = $1", name).Scan(&allowConn, &isTemplate); err != nil {
		t.Fatalf("look up template: %v", err)
	}
	if allowConn || !isTemplate {
		t.Errorf("template: datallowconn %v, datistemplate %v; want false, true", allowConn, isTemplate)
	}
	if ok, err := databaseExists(t.Context(), conn, name+"_build"); err != nil || ok {
		t.Errorf("the build database is left: %v, %v", ok, err)
	}
	u, err := withDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	var pgErr *pgconn.PgError
	if c, err := pgx.Connect(t.Context(), u); !errors.As(err, &pgErr) {
		if err == nil {
			c.Close(context.Background()) //nolint:errcheck // the test fails anyway
		}
		t.Errorf("connecting to the template: %v, want a refusal", err)
	}

	copied := create(t, admin, name)
	var n int
	if err := connect(t, copied).QueryRow(t.Context(), "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM schema_migrations)").Scan(&n); err != nil {
		t.Fatalf("query the copy: %v", err)
	}
	if n != 3 {
		t.Errorf("the copy has %d rows in a and schema_migrations, want 1 + 2", n)
	}
}

// TestTemplateName: the name follows the migrations' names and contents.
func TestTemplateName(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, files := range []fstest.MapFS{
		{},
		{"0001_a.sql": {Data: []byte("SELECT 1;")}},
		{"0001_a.sql": {Data: []byte("SELECT 2;")}},
		{"0001_b.sql": {Data: []byte("SELECT 2;")}},
		{"0001_a.sql": {Data: []byte("SELECT 1;")}, "0002_a.sql": {Data: []byte("SELECT 1;")}},
	} {
		name, err := templateName(files)
		if err != nil {
			t.Fatal(err)
		}
		if len(name) > 63-len("_build") {
			t.Errorf("%s is too long for PostgreSQL", name)
		}
		if names[name] {
			t.Errorf("two sets of migrations share template %s", name)
		}
		names[name] = true
		again, err := templateName(files)
		if err != nil || again != name {
			t.Errorf("templateName is not stable: %s, then %s (%v)", name, again, err)
		}
	}
}

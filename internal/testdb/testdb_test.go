package testdb

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// connect opens a connection closed at the end of the test.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() {
		if err := conn.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return conn
}

func currentDatabase(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var name string
	if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatalf("current_database: %v", err)
	}
	return name
}

func TestNewGivesSeparateDatabases(t *testing.T) {
	t.Parallel()
	a := connect(t, New(t))
	b := connect(t, New(t))
	nameA, nameB := currentDatabase(t, a), currentDatabase(t, b)
	if nameA == nameB {
		t.Fatalf("both calls gave database %s", nameA)
	}

	if _, err := a.Exec(t.Context(), "CREATE TABLE only_in_a (n int)"); err != nil {
		t.Fatalf("create table in %s: %v", nameA, err)
	}
	var count int
	if err := b.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&count); err != nil {
		t.Fatalf("query %s: %v", nameB, err)
	}
	if count != 0 {
		t.Errorf("table created in %s is visible in %s", nameA, nameB)
	}
	if _, err := b.Exec(t.Context(), "CREATE TABLE only_in_a (n int)"); err != nil {
		t.Errorf("create the same table in %s: %v", nameB, err)
	}
}

func TestNewDropsDatabaseAfterTest(t *testing.T) {
	t.Parallel()
	var (
		name string
		user *pgx.Conn // left open: the drop must not wait for it
	)
	t.Run("user", func(t *testing.T) {
		var err error
		user, err = pgx.Connect(t.Context(), New(t))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		name = currentDatabase(t, user)
	})
	if user == nil {
		t.FailNow()
	}
	// DROP ... WITH (FORCE) terminated the session; closing only frees it.
	defer user.Close(context.Background()) //nolint:errcheck // the server already ended it

	admin, err := adminURL()
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, admin)
	var exists bool
	if err := conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatalf("look up %s: %v", name, err)
	}
	if exists {
		t.Errorf("database %s still exists after its test", name)
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct{ admin, want string }{
		{"postgres://postgres@/postgres?host=%2Ftmp%2Fx&port=5432", "postgres://postgres@/db?host=%2Ftmp%2Fx&port=5432"},
		{"postgresql://u:p@localhost:5432/postgres?dbname=postgres&sslmode=disable", "postgresql://u:p@localhost:5432/db?sslmode=disable"},
		{"host=/tmp/x user=postgres dbname=postgres", "host=/tmp/x user=postgres dbname=postgres dbname=db"},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.admin, "db")
		if err != nil {
			t.Errorf("withDatabase(%q): %v", tt.admin, err)
			continue
		}
		if got != tt.want {
			t.Errorf("withDatabase(%q) = %q, want %q", tt.admin, got, tt.want)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Errorf("ParseConfig(%q): %v", got, err)
			continue
		}
		if cfg.Database != "db" {
			t.Errorf("%q connects to database %q, want db", got, cfg.Database)
		}
	}
}

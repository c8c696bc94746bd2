package store_test

import (
	"bytes"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"tim/internal/store"
	"tim/internal/testdb"
	"tim/migrations"
)

// TestMigrateAppliesAMissingEarlierMigration: migrations are applied by
// name, not by a high-water mark. A database migrated by a release that
// had 0009 but not 0008 (read cursors came after media and recall) gets
// 0008 on the next start, alone, and 0008 starts its read cursors at the
// delivery cursors as on any other database.
func TestMigrateAppliesAMissingEarlierMigration(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := store.Open(ctx, testdb.NewEmpty(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)

	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	const missing = "0008_read_cursors.sql"
	if err := st.ExecScript(ctx, `CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	later := false
	for _, name := range names {
		if name == missing {
			continue
		}
		later = later || name > missing
		sql, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.ExecScript(ctx, string(sql)+"; INSERT INTO schema_migrations (name) VALUES ('"+name+"')"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if !later {
		t.Fatalf("no migration after %s: the test proves nothing", missing)
	}

	// What such a database holds: a conversation of 3 messages that a has
	// been delivered up to 2 and b up to 3.
	for _, acc := range []string{"a", "b"} {
		if _, err := st.UserInsert(ctx, store.NewUser{Account: acc, Username: acc, PasswordHash: "x", Sex: "male", Age: 20}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ExecScript(ctx, `
		INSERT INTO conversations (key, user_a, user_b, last_seq) VALUES ('d:a:b', 'a', 'b', 3);
		INSERT INTO delivery_cursors (account, conv, delivered_seq) VALUES ('a', 'd:a:b', 2), ('b', 'd:a:b', 3)`); err != nil {
		t.Fatal(err)
	}

	var log bytes.Buffer
	if err := st.Migrate(ctx, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if applied := strings.Count(log.String(), "applied migration"); applied != 1 || !strings.Contains(log.String(), missing) {
		t.Fatalf("migrate applied %d migrations, want %s alone:\n%s", applied, missing, log.String())
	}
	for acc, want := range map[string]struct{ read, unread int64 }{"a": {2, 1}, "b": {3, 0}} {
		list, err := st.ConversationListForAccount(ctx, acc, false, time.Time{}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ReadSeq != want.read || list[0].Unread != want.unread {
			t.Errorf("%s's list after the migration: %+v, want read cursor %d and %d unread", acc, list, want.read, want.unread)
		}
	}

	log.Reset()
	if err := st.Migrate(ctx, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if strings.Contains(log.String(), "applied migration") {
		t.Errorf("second migrate applied something:\n%s", log.String())
	}
}

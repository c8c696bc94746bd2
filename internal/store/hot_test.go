package store_test

import (
	"fmt"
	"testing"
	"time"

	"tim/internal/testwait"
)

// TestPerMessageUpdatesAreHOT: the rows that every commit batch and every
// read frame update (the conversation's, the reader's read cursor) are
// updated in place, without new index entries (HOT), as long as the
// conversation's change mark is younger than the committer's interval.
// Each statement runs in its own transaction, as the committer's do, so
// that now() moves between them. (Before, conversations.updated_at and
// read_cursors.read_seq were indexed: 0 of these updates were HOT.)
func TestPerMessageUpdatesAreHOT(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, url := openURL(t)
	conn := connect(t, url)
	for _, q := range []string{
		"INSERT INTO users (account, username, password_hash, sex, age) VALUES ('a', 'a', 'x', 'male', 20), ('b', 'b', 'x', 'male', 20)",
		"INSERT INTO friendships (account, friend) VALUES ('a', 'b'), ('b', 'a')",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	const batches = 5
	commit := generatedSQL(t, "messages", "messageCommitBatch")
	read := generatedSQL(t, "receipts", "readCursorAdvanceBatch")
	for k := range batches {
		// The mark interval is one second (commitArgs): these batches are
		// well within it.
		if _, err := conn.Exec(ctx, commit, commitArgs(directSends("a", "b", 3, fmt.Sprintf("m%d-", k)))...); err != nil {
			t.Fatal(err)
		}
		seq := int64(3 * (k + 1))
		if _, err := conn.Exec(ctx, read, []string{"b"}, []string{"a"}, []int64{0}, []string{"d:a:b"}, []int64{seq}); err != nil {
			t.Fatal(err)
		}
	}
	// A mark older than the interval (here 0) moves to the batch's time.
	markOf := func() (m time.Time) {
		t.Helper()
		if err := conn.QueryRow(ctx, "SELECT changed_at FROM conversations WHERE key = 'd:a:b'").Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	before := markOf()
	args := commitArgs(directSends("a", "b", 1, "late-"))
	args[len(args)-1] = 0.0
	if _, err := conn.Exec(ctx, commit, args...); err != nil {
		t.Fatal(err)
	}
	if after := markOf(); !after.After(before) {
		t.Errorf("change mark %v after a batch with a mark interval of 0, was %v", after, before)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
		t.Fatal(err)
	}

	// The statistics arrive a moment later; the first batch and the first
	// read inserted their rows, each later one updated them; the last batch
	// moved the mark.
	want := int64(batches - 1)
	watcher := connect(t, url)
	testwait.Eventually(t, 10*time.Second, func() error {
		upd, hot := map[string]int64{}, map[string]int64{}
		if _, err := watcher.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
			t.Fatal(err)
		}
		rows, err := watcher.Query(ctx, `SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
			WHERE relname IN ('conversations', 'read_cursors')`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var rel string
			var u, h int64
			if err := rows.Scan(&rel, &u, &h); err != nil {
				t.Fatal(err)
			}
			upd[rel], hot[rel] = u, h
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if upd["conversations"] == want+1 && upd["read_cursors"] == want {
			for _, rel := range []string{"conversations", "read_cursors"} {
				if hot[rel] != want {
					t.Errorf("%s: %d of %d updates were HOT", rel, hot[rel], want)
				}
			}
			return nil
		}
		return fmt.Errorf("updates counted: %v (HOT %v), want %d and %d", upd, hot, want+1, want)
	})
}

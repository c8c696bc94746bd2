package social_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"tim/gen/db"
)

// A member who joins starts at the group's newest message, so history from
// before the join is not pushed as unread; a rejoin starts at the end again.
// The group's history is written straight into the database, as the
// messaging code would.
func TestJoinStartsDeliveryAtGroupEnd(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pool, err := pgxpool.New(f.ctx, f.env.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	q := db.New(pool)

	owner, late := f.newUser("cursor"), f.newUser("cursor")
	g := f.createGroup(owner, "history")
	conv := fmt.Sprintf("g:%d", g.Id)
	if err := q.ConversationInsertMissing(f.ctx, db.ConversationInsertMissingParams{
		Keys: []string{conv}, UsersA: []string{""}, UsersB: []string{""}, GroupIds: []int64{g.Id},
	}); err != nil {
		t.Fatal(err)
	}
	history := func(n int64) int64 {
		t.Helper()
		rows, err := q.ConversationBumpSeq(f.ctx, db.ConversationBumpSeqParams{Keys: []string{conv}, Counts: []int64{n}})
		if err != nil || len(rows) != 1 {
			t.Fatalf("bump seq: %v %v", rows, err)
		}
		return rows[0].LastSeq
	}
	cursor := func() int64 {
		t.Helper()
		seq, err := q.DeliveryCursorGet(f.ctx, db.DeliveryCursorGetParams{Account: late.account, Conv: conv})
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}

	last := history(3)
	f.mustJoinGroup(late, g.Id)
	if got := cursor(); got != last {
		t.Fatalf("cursor after joining = %d, want the group's last seq %d", got, last)
	}

	left := f.leaveGroup(late, g.Id)
	wantStatus(t, "leave", left.HTTPResponse, left.Body, http.StatusOK, "退出群聊成功")
	last = history(5)
	f.mustJoinGroup(late, g.Id)
	if got := cursor(); got != last {
		t.Fatalf("cursor after rejoining = %d, want %d", got, last)
	}
}

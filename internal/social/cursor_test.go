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
// The group's history is committed straight into the database with the
// query the messaging code commits sends with.
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
	history := func(n int) int64 {
		t.Helper()
		p := db.MessageCommitBatchParams{}
		for i := range n {
			p.Convs = append(p.Convs, conv)
			p.UsersA, p.UsersB = append(p.UsersA, ""), append(p.UsersB, "")
			p.Senders, p.Recipients = append(p.Senders, owner.account), append(p.Recipients, "")
			p.GroupIds = append(p.GroupIds, g.Id)
			p.Kinds, p.Bodies = append(p.Kinds, "text"), append(p.Bodies, fmt.Sprintf("before %d", i))
			p.ClientMsgIds, p.MediaKinds = append(p.ClientMsgIds, ""), append(p.MediaKinds, "")
		}
		rows, err := q.MessageCommitBatch(f.ctx, p)
		if err != nil || len(rows) != n {
			t.Fatalf("commit %d messages: %v %v", n, rows, err)
		}
		var last int64
		for _, r := range rows {
			last = max(last, r.Seq)
		}
		return last
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

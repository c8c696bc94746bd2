package social_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"tim/gen/db"
	"tim/gen/models"
	"tim/internal/wstest"
)

// commitGroupMessages commits n messages of sender to group g straight
// into the database, with the query the messaging code commits sends
// with, and returns the last seq.
func commitGroupMessages(t *testing.T, f *fixture, q *db.Queries, g int64, sender string, n int) int64 {
	t.Helper()
	p := db.MessageCommitBatchParams{}
	for i := range n {
		p.Convs = append(p.Convs, fmt.Sprintf("g:%d", g))
		p.UsersA, p.UsersB = append(p.UsersA, ""), append(p.UsersB, "")
		p.Senders, p.Recipients = append(p.Senders, sender), append(p.Recipients, "")
		p.GroupIds = append(p.GroupIds, g)
		p.Kinds, p.Bodies = append(p.Kinds, "text"), append(p.Bodies, fmt.Sprintf("m%d", i))
		p.ClientMsgIds, p.MediaKinds = append(p.ClientMsgIds, ""), append(p.MediaKinds, "")
	}
	rows, err := q.MessageCommitBatch(f.ctx, p)
	if err != nil || len(rows) != n {
		t.Fatalf("commit %d messages: %v %v", n, rows, err)
	}
	var last int64
	for _, r := range rows {
		if r.Status != "new" {
			t.Fatalf("commit %d messages: %+v", n, rows)
		}
		last = max(last, r.Seq)
	}
	return last
}

// In a group whose history is visible from the join only, a newcomer reads
// nothing from before their join: not in history, not by a sync on a user
// or group socket, not as the conversation list's last message or unread.
// A shared group reads as before.
func TestJoinedHistoryVisibility(t *testing.T) {
	t.Parallel()
	f := setup(t)
	q := db.New(f.pool())
	owner, newcomer := f.newUser("vis"), f.newUser("vis")
	joined := f.createGroupWith(owner, "joined", nil, visibility(models.HistoryVisibilityJoined))
	shared := f.createGroup(owner, "shared")
	for _, g := range []models.Group{joined, shared} {
		commitGroupMessages(t, f, q, g.Id, owner.account, 3)
		f.mustJoinGroup(newcomer, g.Id)
	}

	history := func(g int64, after *int64) []int64 {
		t.Helper()
		resp, err := f.c.GetGroupMessagesWithResponse(f.ctx, &models.GetGroupMessagesParams{Account: newcomer.account, GroupID: g, AfterSeq: after}, newcomer.auth)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "groupMessages", resp.HTTPResponse, resp.Body, http.StatusOK, "获取消息成功")
		var seqs []int64
		for _, m := range resp.JSON200.Data {
			seqs = append(seqs, m.Seq)
		}
		return seqs
	}
	conversation := func(g int64) models.Conversation {
		t.Helper()
		resp, err := f.c.GetConversationsWithResponse(f.ctx, &models.GetConversationsParams{Account: newcomer.account}, newcomer.auth)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.JSON200.Data.Conversations {
			if c.GroupId != nil && *c.GroupId == g {
				return c
			}
		}
		t.Fatalf("group %d not in the conversation list %s", g, resp.Body)
		return models.Conversation{}
	}
	zero := int64(0)

	// Before anything is said after the join: the newcomer's own join
	// event (seq 4) only, which is no last message and not unread.
	if got := history(joined.Id, nil); !slices.Equal(got, []int64{4}) {
		t.Errorf("joined group's newest page: %v, want the join event", got)
	}
	if c := conversation(joined.Id); c.LastMessage != nil || c.Unread != 0 {
		t.Errorf("joined group in the conversation list: last %+v, unread %d; want none", c.LastMessage, c.Unread)
	}
	if c := conversation(shared.Id); c.LastMessage == nil || c.LastMessage.Seq != 3 || c.Unread != 0 {
		t.Errorf("shared group in the conversation list: last %+v, unread %d; want seq 3, 0 unread", c.LastMessage, c.Unread)
	}

	for _, g := range []models.Group{joined, shared} {
		commitGroupMessages(t, f, q, g.Id, owner.account, 2)
	}
	if got := history(joined.Id, nil); !slices.Equal(got, []int64{4, 5, 6}) {
		t.Errorf("joined group's newest page: %v, want [4 5 6]", got)
	}
	if got := history(joined.Id, &zero); !slices.Equal(got, []int64{4, 5, 6}) {
		t.Errorf("joined group after seq 0: %v, want [4 5 6]", got)
	}
	if got := history(shared.Id, &zero); !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6}) {
		t.Errorf("shared group after seq 0: %v, want all six", got)
	}
	if c := conversation(joined.Id); c.LastMessage == nil || c.LastMessage.Seq != 6 || c.Unread != 2 {
		t.Errorf("joined group in the conversation list: last %+v, unread %d; want seq 6, 2 unread", c.LastMessage, c.Unread)
	}

	// A sync from 0 replays from the join on, on a user socket and on a
	// group socket; the shared group's replays everything. (Message skips
	// the join events at seq 4.) The sockets ack
	// nothing (ack=1), so that each starts from the join's delivery cursor.
	dial := func(path string) *wstest.Conn {
		t.Helper()
		return wstest.MustDial(t, f.env.WebSocketURL(path+"?ack=1"), newcomer.token)
	}
	userSock := dial("/websocket/" + newcomer.account)
	caught := map[int64][]int64{} // catch-up, from the delivery cursors
	for range 4 {
		m := userSock.Message()
		caught[*m.GroupId] = append(caught[*m.GroupId], m.Seq)
	}
	if !slices.Equal(caught[joined.Id], []int64{5, 6}) || !slices.Equal(caught[shared.Id], []int64{5, 6}) {
		t.Fatalf("catch-up of the user socket: %v, want seqs 5 and 6 of each group", caught)
	}
	userSock.SendJSON(map[string]any{"type": "sync", "groupId": joined.Id, "afterSeq": 0})
	for _, want := range []int64{5, 6} {
		if m := userSock.Message(); m.Seq != want || *m.GroupId != joined.Id {
			t.Fatalf("sync of the joined group on a user socket: %+v, want seq %d", m, want)
		}
	}
	for _, tc := range []struct {
		g    models.Group
		want []int64
	}{{joined, []int64{5, 6, 5, 6}}, {shared, []int64{5, 6, 1, 2, 3, 5, 6}}} {
		sock := dial(fmt.Sprintf("/websocket/%d/%s", tc.g.Id, newcomer.account))
		sock.NextOf("group.online")
		var got []int64
		for range 2 { // catch-up
			got = append(got, sock.Message().Seq)
		}
		sock.SendJSON(map[string]any{"type": "sync", "groupId": tc.g.Id, "afterSeq": 0})
		for len(got) < len(tc.want) {
			got = append(got, sock.Message().Seq)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("group socket of %s: catch-up and sync from 0 gave %v, want %v", tc.g.Name, got, tc.want)
		}
	}
}

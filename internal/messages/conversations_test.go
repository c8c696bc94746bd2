package messages_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tim/gen/client"
	"tim/gen/models"
	"tim/internal/messages"
	"tim/internal/store"
	"tim/internal/testenv"
)

// world is a running server with accounts a, b, c, d, e and the
// conversations TestConversationList describes.
type world struct {
	t      *testing.T
	env    *testenv.Env
	pool   *pgxpool.Pool // for reading read cursors, which no store method returns
	commit *messages.Committer
	st     *store.Store
	auth   map[string]client.RequestEditorFn
	groups map[string]int64 // by name
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := testenv.New(t)
	ctx := context.Background()
	st, err := store.Open(ctx, env.Config.DatabaseURL, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	pool, err := pgxpool.New(ctx, env.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// Messages are committed as a socket's sends are, by a committer of
	// their own; nobody here needs them live.
	logger := slog.New(slog.DiscardHandler)
	cm, err := messages.NewCommitter(ctx, st, logger, func([]messages.Committed) {}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cm.Close)
	w := &world{t: t, env: env, pool: pool, commit: cm, st: st, auth: map[string]client.RequestEditorFn{}, groups: map[string]int64{}}
	for _, acc := range []string{"a", "b", "c", "d", "e"} {
		w.auth[acc] = testenv.Auth(env.Register(t, acc))
	}
	return w
}

func (w *world) ok(what string, status int, body []byte) {
	w.t.Helper()
	if status != http.StatusOK {
		w.t.Fatalf("%s: status %d: %s", what, status, body)
	}
}

func (w *world) befriend(a, b string) {
	w.t.Helper()
	r, err := w.env.Client.AddFriendWithResponse(context.Background(), &models.AddFriendParams{UserAccount: a, FriendAccount: b}, w.auth[a])
	if err != nil {
		w.t.Fatal(err)
	}
	w.ok("add friend", r.StatusCode(), r.Body)
}

func (w *world) unfriend(a, b string) {
	w.t.Helper()
	r, err := w.env.Client.DeleteFriendWithResponse(context.Background(), &models.DeleteFriendParams{UserAccount: a, FriendAccount: b}, w.auth[a])
	if err != nil {
		w.t.Fatal(err)
	}
	w.ok("delete friend", r.StatusCode(), r.Body)
}

func (w *world) createGroup(owner, name string) int64 {
	w.t.Helper()
	r, err := w.env.Client.CreateGroupWithResponse(context.Background(), &models.CreateGroupParams{UserAccount: owner, GroupName: name}, w.auth[owner])
	if err != nil {
		w.t.Fatal(err)
	}
	w.ok("create group", r.StatusCode(), r.Body)
	w.groups[name] = r.JSON200.Data.Id
	return r.JSON200.Data.Id
}

func (w *world) join(account string, g int64) {
	w.t.Helper()
	r, err := w.env.Client.JoinGroupWithResponse(context.Background(), &models.JoinGroupParams{UserAccount: account, GroupID: g}, w.auth[account])
	if err != nil {
		w.t.Fatal(err)
	}
	w.ok("join group", r.StatusCode(), r.Body)
}

func (w *world) leave(account string, g int64) {
	w.t.Helper()
	r, err := w.env.Client.LeaveGroupWithResponse(context.Background(), &models.LeaveGroupParams{UserAccount: account, GroupID: g}, w.auth[account])
	if err != nil {
		w.t.Fatal(err)
	}
	w.ok("leave group", r.StatusCode(), r.Body)
}

// send commits messages from sender to an account or a group, in order.
func (w *world) send(sender, to string, g int64, bodies ...string) {
	w.t.Helper()
	for _, body := range bodies {
		if _, err := w.commit.Send(messages.Send{Sender: sender, To: to, GroupID: g, Body: body}); err != nil {
			w.t.Fatalf("send %s: %v", body, err)
		}
	}
}

// read marks a conversation read through POST /Tim/read.
func (w *world) read(reader string, body models.ReadRequest) *client.MarkReadResponse {
	w.t.Helper()
	r, err := w.env.Client.MarkReadWithResponse(context.Background(), body, w.auth[reader])
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func readWith(with string, seq int64) models.ReadRequest {
	return models.ReadRequest{With: &with, Seq: seq}
}
func readGroup(g, seq int64) models.ReadRequest { return models.ReadRequest{GroupId: &g, Seq: seq} }

// list reads one page of account's conversation list.
func (w *world) list(account string, limit int32, cursor *string) models.ConversationPage {
	w.t.Helper()
	p := &models.GetConversationsParams{Account: account, Cursor: cursor}
	if limit > 0 {
		p.Limit = &limit
	}
	r, err := w.env.Client.GetConversationsWithResponse(context.Background(), p, w.auth[account])
	if err != nil {
		w.t.Fatal(err)
	}
	w.ok("list conversations", r.StatusCode(), r.Body)
	return r.JSON200.Data
}

// all reads account's whole list with pages of limit.
func (w *world) all(account string, limit int32) []models.Conversation {
	w.t.Helper()
	var out []models.Conversation
	var cursor *string
	for range 100 {
		page := w.list(account, limit, cursor)
		if len(page.Conversations) > int(limit) {
			w.t.Fatalf("page of %d conversations, limit %d", len(page.Conversations), limit)
		}
		out = append(out, page.Conversations...)
		if page.Next == nil {
			return out
		}
		cursor = page.Next
	}
	w.t.Fatal("list never ends")
	return nil
}

// expected is one line of a conversation list; lastFrom "" means no
// last message.
type expected struct {
	key                            string // "with:b" or "group:name"
	name                           string
	lastSeq, readSeq, unread, peer int64
	lastFrom, lastBody             string
	// lastMsgSeq is the last message's seq when an event (which is never
	// the last message) came after it; 0: lastSeq.
	lastMsgSeq int64
}

func (w *world) check(got []models.Conversation, want []expected) {
	w.t.Helper()
	if len(got) != len(want) {
		b, _ := json.Marshal(got)
		w.t.Fatalf("%d conversations, want %d: %s", len(got), len(want), b)
	}
	for i, c := range got {
		x := want[i]
		kind, id, _ := strings.Cut(x.key, ":")
		switch kind {
		case "with":
			if c.Type != models.ConversationTypeDirect || c.With == nil || *c.With != id || c.GroupId != nil || c.PeerReadSeq == nil || *c.PeerReadSeq != x.peer {
				w.t.Fatalf("conversation %d: %+v, want direct with %s, peer read %d", i, c, id, x.peer)
			}
		case "group":
			if c.Type != models.ConversationTypeGroup || c.GroupId == nil || *c.GroupId != w.groups[id] || c.With != nil || c.PeerReadSeq != nil {
				w.t.Fatalf("conversation %d: %+v, want group %s", i, c, id)
			}
		}
		if c.Name != x.name || c.LastSeq != x.lastSeq || c.ReadSeq != x.readSeq || c.Unread != x.unread {
			w.t.Fatalf("conversation %d (%s): name %q lastSeq %d readSeq %d unread %d, want %q %d %d %d",
				i, x.key, c.Name, c.LastSeq, c.ReadSeq, c.Unread, x.name, x.lastSeq, x.readSeq, x.unread)
		}
		msgSeq := x.lastSeq
		if x.lastMsgSeq != 0 {
			msgSeq = x.lastMsgSeq
		}
		switch {
		case x.lastFrom == "" && c.LastMessage != nil:
			w.t.Fatalf("conversation %d (%s): last message %+v, want none", i, x.key, c.LastMessage)
		case x.lastFrom != "" && (c.LastMessage == nil || c.LastMessage.Seq != msgSeq || c.LastMessage.FromUser != x.lastFrom || c.LastMessage.Message != x.lastBody):
			w.t.Fatalf("conversation %d (%s): last message %+v, want seq %d from %s %q", i, x.key, c.LastMessage, msgSeq, x.lastFrom, x.lastBody)
		}
	}
}

// readCursor is account's stored read cursor in conv, 0 when none.
func (w *world) readCursor(account, conv string) int64 {
	w.t.Helper()
	var seq int64
	err := w.pool.QueryRow(context.Background(), "SELECT read_seq FROM read_cursors WHERE account = $1 AND conv = $2", account, conv).Scan(&seq)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		w.t.Fatal(err)
	}
	return seq
}

// build makes a's conversations: in order of activity, oldest first, the
// quiet group (no messages), a former friend d, b, group team, c, and group
// late that a joined after five messages; a left group gone; e is a friend
// without messages.
func (w *world) build() {
	for _, f := range []string{"b", "c", "d", "e"} {
		w.befriend("a", f)
	}
	w.createGroup("a", "quiet")
	gone := w.createGroup("b", "gone")
	w.join("a", gone)
	w.send("b", "", gone, "x1")
	// Seq 1 is a's join event, 2 is x1; a's leave takes 3.
	if r := w.read("a", readGroup(gone, 2)); r.StatusCode() != http.StatusOK {
		w.t.Fatalf("read gone: %d %s", r.StatusCode(), r.Body)
	}
	w.leave("a", gone)
	w.send("d", "a", 0, "d1")
	w.send("a", "d", 0, "d2")
	w.unfriend("a", "d")
	w.send("b", "a", 0, "b1", "b2")
	w.send("a", "b", 0, "a3")
	w.send("b", "a", 0, "b4")
	w.send("a", "b", 0, "a5")
	team := w.createGroup("a", "team")
	w.join("b", team)
	w.send("b", "", team, "g1", "g2")
	w.send("a", "", team, "g3")
	w.send("b", "", team, "g4")
	w.send("c", "a", 0, "c1")
	late := w.createGroup("c", "late")
	w.send("c", "", late, "l1", "l2", "l3", "l4", "l5")
	w.join("a", late)
	w.send("c", "", late, "l6", "l7")

	for _, rd := range []struct {
		reader string
		req    models.ReadRequest
	}{
		{"a", readWith("b", 2)}, {"b", readWith("a", 3)}, {"a", readGroup(team, 2)}, {"b", readGroup(team, 5)},
	} {
		if r := w.read(rd.reader, rd.req); r.StatusCode() != http.StatusOK {
			w.t.Fatalf("read %+v: %d %s", rd.req, r.StatusCode(), r.Body)
		}
	}
}

// wantA is a's list after build.
var wantA = []expected{
	// Joined after l5: its read cursor started there; its join event (6)
	// is not unread.
	{key: "group:late", name: "late", lastSeq: 8, readSeq: 5, unread: 2, lastFrom: "c", lastBody: "l7"},
	{key: "with:c", name: "c", lastSeq: 1, readSeq: 0, unread: 1, peer: 0, lastFrom: "c", lastBody: "c1"},
	// Seq 1 is b's join event; g3 (a's own) is not unread.
	{key: "group:team", name: "team", lastSeq: 5, readSeq: 2, unread: 2, lastFrom: "b", lastBody: "g4"},
	// Read up to 2; of 3..5 only b4 is b's.
	{key: "with:b", name: "b", lastSeq: 5, readSeq: 2, unread: 1, peer: 3, lastFrom: "a", lastBody: "a5"},
	// A former friend: still listed.
	{key: "with:d", name: "d", lastSeq: 2, readSeq: 0, unread: 1, peer: 0, lastFrom: "a", lastBody: "d2"},
	{key: "group:quiet", name: "quiet", lastSeq: 0, readSeq: 0, unread: 0},
}

// TestConversationList: content, unread counts without the account's own
// messages, paging, refusals, and the same list after a restart.
func TestConversationList(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.build()
	w.check(w.all("a", 200), wantA)
	w.check(w.list("a", 0, nil).Conversations, wantA) // default limit
	for _, limit := range []int32{1, 2, 4, 5} {
		w.check(w.all("a", limit), wantA)
	}
	if page := w.list("a", 6, nil); page.Next != nil {
		t.Fatalf("a full last page has next %q", *page.Next)
	}

	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		params models.GetConversationsParams
		status int
	}{
		{"another account", models.GetConversationsParams{Account: "b"}, http.StatusForbidden},
		{"bad cursor", models.GetConversationsParams{Account: "a", Cursor: ptr("not-a-cursor!")}, http.StatusBadRequest},
		{"cursor of no conversation", models.GetConversationsParams{Account: "a", Cursor: ptr("MTIzOng")}, http.StatusBadRequest},
		{"limit 0", models.GetConversationsParams{Account: "a", Limit: ptr(int32(0))}, http.StatusBadRequest},
		{"limit 201", models.GetConversationsParams{Account: "a", Limit: ptr(int32(201))}, http.StatusBadRequest},
	} {
		r, err := w.env.Client.GetConversationsWithResponse(ctx, &tc.params, w.auth["a"])
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode() != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.name, r.StatusCode(), tc.status, r.Body)
		}
	}
	r, err := w.env.Client.GetConversationsWithResponse(ctx, &models.GetConversationsParams{Account: "a"})
	if err != nil || r.StatusCode() != http.StatusUnauthorized {
		t.Fatalf("no token: %v %d", err, r.StatusCode())
	}

	// b's side: a's messages unread past its cursor.
	w.check(w.all("b", 50), []expected{
		{key: "group:team", name: "team", lastSeq: 5, readSeq: 5, unread: 0, lastFrom: "b", lastBody: "g4"},
		{key: "with:a", name: "a", lastSeq: 5, readSeq: 3, unread: 1, peer: 2, lastFrom: "a", lastBody: "a5"},
		// a's leave event (3) is neither unread nor the last message.
		{key: "group:gone", name: "gone", lastSeq: 3, readSeq: 0, unread: 0, lastFrom: "b", lastBody: "x1", lastMsgSeq: 2},
	})

	w.env.Restart(t)
	w.check(w.all("a", 3), wantA)
}

func ptr[T any](v T) *T { return &v }

// TestConversationListSkipsRecalls: a recall event takes a seq but is no
// message: it is not unread, and the last message shown is the newest
// message, recalled or not, never the event.
func TestConversationListSkipsRecalls(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.befriend("a", "b")
	sent := map[string]messages.Message{}
	for _, s := range []messages.Send{
		{Sender: "b", To: "a", Body: "b1"}, {Sender: "b", To: "a", Body: "b2"},
		{Sender: "b", To: "a", Body: "b3"}, {Sender: "a", To: "b", Body: "a4"},
	} {
		m, err := w.commit.Send(s)
		if err != nil {
			t.Fatalf("send %s: %v", s.Body, err)
		}
		sent[s.Body] = m
	}
	rc := messages.NewRecaller(w.st)
	for _, r := range []messages.RecallRequest{
		{Account: "b", ID: sent["b3"].ID, Window: time.Minute}, // seq 5
		{Account: "a", ID: sent["a4"].ID, Window: time.Minute}, // seq 6
	} {
		if _, err := rc.Recall(context.Background(), r); err != nil {
			t.Fatalf("recall %d: %v", r.ID, err)
		}
	}
	for _, tc := range []struct {
		account string
		unread  int64
	}{
		{"a", 3}, // b1, b2 and the recalled b3; not a4 (its own) nor the two events
		{"b", 1}, // a4
	} {
		list := w.all(tc.account, 10)
		if len(list) != 1 {
			t.Fatalf("%s: %d conversations, want 1: %+v", tc.account, len(list), list)
		}
		c := list[0]
		if c.LastSeq != 6 || c.ReadSeq != 0 || c.Unread != tc.unread {
			t.Fatalf("%s: lastSeq %d readSeq %d unread %d, want 6 0 %d", tc.account, c.LastSeq, c.ReadSeq, c.Unread, tc.unread)
		}
		last := c.LastMessage
		if last == nil || last.Seq != 4 || last.FromUser != "a" || last.Message != "" || last.Recalled == nil || !*last.Recalled {
			t.Fatalf("%s: last message %+v, want a4 at seq 4, recalled", tc.account, last)
		}
	}
	// Read up to the first event: only a's own event lies past it.
	if r := w.read("a", readWith("b", 5)); r.StatusCode() != http.StatusOK {
		t.Fatalf("read: %d %s", r.StatusCode(), r.Body)
	}
	if c := w.all("a", 10)[0]; c.ReadSeq != 5 || c.Unread != 0 {
		t.Fatalf("a after reading to 5: readSeq %d unread %d, want 5 0", c.ReadSeq, c.Unread)
	}
}

// TestConversationListShowsMedia: the last message of a conversation is
// the MessageFrame that history returns, media description included, so
// that a client shows a picture or a voice message from the list alone.
func TestConversationListShowsMedia(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.befriend("a", "b")
	g := w.createGroup("a", "voices")
	w.join("b", g)
	ctx := context.Background()
	now := time.Now()
	for _, m := range []store.Medium{
		{Name: "pic-1", Kind: "chatpic", Owner: "b", Size: 1234, ContentType: "image/png", SHA256: "p1", CreatedAt: now, Width: 640, Height: 480},
		{Name: "song-1", Kind: "mp3", Owner: "a", Size: 4321, ContentType: "audio/mpeg", SHA256: "s1", CreatedAt: now},
	} {
		if err := w.st.MediaInsert(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []messages.Send{
		{Sender: "b", To: "a", Kind: "text", Body: "look"},
		{Sender: "b", To: "a", Kind: "image", Body: "pic-1"},
		{Sender: "a", GroupID: g, Kind: "audio", Body: "song-1"},
	} {
		if _, err := w.commit.Send(s); err != nil {
			t.Fatalf("send %s: %v", s.Body, err)
		}
	}
	history := func(account string, c models.Conversation) models.MessageFrame {
		t.Helper()
		var body []byte
		if c.GroupId != nil {
			r, err := w.env.Client.GetGroupMessagesWithResponse(ctx, &models.GetGroupMessagesParams{Account: account, GroupID: *c.GroupId}, w.auth[account])
			if err != nil {
				t.Fatal(err)
			}
			w.ok("group history", r.StatusCode(), r.Body)
			body = r.Body
		} else {
			r, err := w.env.Client.GetMessagesWithResponse(ctx, &models.GetMessagesParams{Account: account, With: *c.With}, w.auth[account])
			if err != nil {
				t.Fatal(err)
			}
			w.ok("history", r.StatusCode(), r.Body)
			body = r.Body
		}
		var env struct{ Data []models.MessageFrame }
		if err := json.Unmarshal(body, &env); err != nil || len(env.Data) == 0 {
			t.Fatalf("history: %v: %s", err, body)
		}
		return env.Data[len(env.Data)-1]
	}
	list := w.all("a", 10)
	if len(list) != 2 {
		t.Fatalf("%d conversations, want 2: %+v", len(list), list)
	}
	for _, c := range list {
		last := c.LastMessage
		if last == nil || last.Media == nil {
			t.Fatalf("%s: last message %+v, want one with media", c.Name, last)
		}
		got, _ := json.Marshal(last)
		want, _ := json.Marshal(history("a", c))
		if string(got) != string(want) {
			t.Errorf("%s: the list's last message %s, history's %s", c.Name, got, want)
		}
	}
	// The group's voice message was sent last; the picture has its size.
	if m := list[0].LastMessage.Media; list[0].GroupId == nil || m.Mime != "audio/mpeg" || m.Size != 4321 || m.Width != nil {
		t.Errorf("group's last message media %+v", m)
	}
	if m := list[1].LastMessage.Media; m.Mime != "image/png" || m.Size != 1234 || m.Width == nil || *m.Width != 640 || *m.Height != 480 ||
		!strings.Contains(m.Url, "pic-1") {
		t.Errorf("direct last message media %+v", m)
	}
	if list[1].Unread != 2 {
		t.Errorf("direct unread %d, want 2", list[1].Unread)
	}
}

// TestMarkRead: forward only, refusals that change nothing, group readers.
func TestMarkRead(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.build()
	team, gone := w.groups["team"], w.groups["gone"]
	direct := messages.DirectKey("a", "b")

	r := w.read("a", readWith("b", 1))
	if r.StatusCode() != http.StatusOK || r.JSON200.Data.Seq != 2 || r.JSON200.Data.Reader != "a" || *r.JSON200.Data.With != "b" {
		t.Fatalf("read backwards: %d %s, want the cursor at 2", r.StatusCode(), r.Body)
	}
	r = w.read("a", readWith("b", 4))
	if r.StatusCode() != http.StatusOK || r.JSON200.Data.Seq != 4 || r.JSON200.Data.Time.IsZero() {
		t.Fatalf("read forward: %d %s", r.StatusCode(), r.Body)
	}

	for _, tc := range []struct {
		name   string
		body   string
		status int
	}{
		{"beyond the end", `{"with":"b","seq":6}`, http.StatusBadRequest},
		{"group beyond the end", `{"groupId":` + itoa(team) + `,"seq":6}`, http.StatusBadRequest},
		{"neither", `{"seq":1}`, http.StatusBadRequest},
		{"both", `{"with":"b","groupId":` + itoa(team) + `,"seq":1}`, http.StatusBadRequest},
		{"oneself", `{"with":"a","seq":1}`, http.StatusBadRequest},
		{"seq 0", `{"with":"b","seq":0}`, http.StatusBadRequest},
		{"unknown field", `{"with":"b","seq":1,"x":1}`, http.StatusBadRequest},
		{"unknown account", `{"with":"zz","seq":1}`, http.StatusNotFound},
		{"no messages", `{"with":"e","seq":1}`, http.StatusNotFound},
		{"unknown group", `{"groupId":999999,"seq":1}`, http.StatusNotFound},
		{"a group left", `{"groupId":` + itoa(gone) + `,"seq":1}`, http.StatusForbidden},
	} {
		res, err := w.env.Client.MarkReadWithBodyWithResponse(context.Background(), "application/json", strings.NewReader(tc.body), w.auth["a"])
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.name, res.StatusCode(), tc.status, res.Body)
		}
	}
	if got := w.readCursor("a", direct); got != 4 {
		t.Fatalf("read cursor with b %d after refusals, want 4", got)
	}
	if got := w.readCursor("a", messages.GroupKey(team)); got != 2 {
		t.Fatalf("read cursor in team %d, want 2", got)
	}
	if got := w.readCursor("a", messages.GroupKey(gone)); got != 2 {
		t.Fatalf("read cursor in the group left %d, want 2 as it was", got)
	}

	readers := func(account string, g, seq int64) (int, []models.GroupReader) {
		t.Helper()
		res, err := w.env.Client.GetGroupReadersWithResponse(context.Background(), &models.GetGroupReadersParams{GroupID: g, Seq: seq}, w.auth[account])
		if err != nil {
			t.Fatal(err)
		}
		if res.JSON200 == nil {
			return res.StatusCode(), nil
		}
		return res.StatusCode(), res.JSON200.Data
	}
	if st, got := readers("a", team, 1); st != http.StatusOK || len(got) != 2 || got[0] != (models.GroupReader{Account: "a", Username: "a", ReadSeq: 2}) || got[1] != (models.GroupReader{Account: "b", Username: "b", ReadSeq: 5}) {
		t.Fatalf("readers of team at 1: %d %+v", st, got)
	}
	if st, got := readers("b", team, 3); st != http.StatusOK || len(got) != 1 || got[0].Account != "b" {
		t.Fatalf("readers of team at 3: %d %+v", st, got)
	}
	// a read gone up to 2 before leaving: a former member is not a reader.
	if st, got := readers("b", gone, 1); st != http.StatusOK || len(got) != 0 {
		t.Fatalf("readers of gone: %d %+v", st, got)
	}
	if st, _ := readers("a", gone, 1); st != http.StatusForbidden {
		t.Fatalf("former member: %d, want 403", st)
	}
	if st, _ := readers("d", team, 1); st != http.StatusForbidden {
		t.Fatalf("non-member: %d, want 403", st)
	}
	if st, _ := readers("a", 999999, 1); st != http.StatusNotFound {
		t.Fatalf("unknown group: %d, want 404", st)
	}
	if st, _ := readers("a", team, 0); st != http.StatusBadRequest {
		t.Fatalf("seq 0: %d, want 400", st)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// socket is a WebSocket client of the user channel, opened with ack=1 so
// that it replays every message of the account.
type socket struct {
	t      *testing.T
	frames chan map[string]any
}

// dial opens account's user socket on env and waits for its first
// replayed message: from then on it is registered for live frames.
func (w *world) dial(env *testenv.Env, account string) *socket {
	w.t.Helper()
	conn, res, err := websocket.DefaultDialer.Dial(env.WebSocketURL("/websocket/"+account+"?ack=1"), http.Header{"token": {env.Login(w.t, account)}})
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		w.t.Fatalf("dial: %v (status %d)", err, status)
	}
	s := &socket{t: w.t, frames: make(chan map[string]any, 1000)}
	go func() {
		defer close(s.frames)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var f map[string]any
			if json.Unmarshal(data, &f) == nil {
				s.frames <- f
			}
		}
	}()
	w.t.Cleanup(func() { conn.Close() })
	s.next("message")
	return s
}

// next returns the next frame of type typ, skipping others.
func (s *socket) next(typ string) map[string]any {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				s.t.Fatal("socket closed")
			}
			if f["type"] == typ {
				return f
			}
		case <-timeout:
			s.t.Fatalf("no %s frame within the timeout", typ)
		}
	}
}

func (s *socket) receipt() models.ReceiptFrame {
	s.t.Helper()
	var r models.ReceiptFrame
	b, _ := json.Marshal(s.next("receipt"))
	if err := json.Unmarshal(b, &r); err != nil {
		s.t.Fatal(err)
	}
	return r
}

// TestReadOverHTTPReachesSocketsOnEveryInstance: POST /Tim/read on one
// instance sends receipts to the reader's and the friend's sockets on
// another; a former friend hears nothing.
func TestReadOverHTTPReachesSocketsOnEveryInstance(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.build()
	peer := w.env.Peer(t)
	sa := w.dial(peer, "a")
	sb := w.dial(peer, "b")
	sd := w.dial(peer, "d")

	if r := w.read("a", readWith("b", 5)); r.StatusCode() != http.StatusOK {
		t.Fatalf("read: %d %s", r.StatusCode(), r.Body)
	}
	if got := sa.receipt(); got.Reader != "a" || *got.With != "b" || got.Seq != 5 {
		t.Fatalf("a's socket got %+v", got)
	}
	if got := sb.receipt(); got.Reader != "a" || *got.With != "a" || got.Seq != 5 {
		t.Fatalf("b's socket got %+v", got)
	}
	// d is a former friend: a's read moves a's cursor and tells a only.
	if r := w.read("a", readWith("d", 2)); r.StatusCode() != http.StatusOK || r.JSON200.Data.Seq != 2 {
		t.Fatalf("read d: %d %s", r.StatusCode(), r.Body)
	}
	if got := sa.receipt(); got.Reader != "a" || *got.With != "d" || got.Seq != 2 {
		t.Fatalf("a's socket got %+v", got)
	}
	// d's own read comes after a's on the same instance: had a's reached
	// d, it would come first.
	if r := w.read("d", readWith("a", 2)); r.StatusCode() != http.StatusOK {
		t.Fatalf("read by d: %d %s", r.StatusCode(), r.Body)
	}
	if got := sd.receipt(); got.Reader != "d" || *got.With != "a" {
		t.Fatalf("d's socket got %+v, want its own receipt", got)
	}
}

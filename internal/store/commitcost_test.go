package store_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tim/internal/store"
)

// TestCommitCostDoesNotGrowWithTheConversation: the batch commit reads
// what each send needs (its friendship, its client id, its conversation
// row), not the conversation's history. A batch into a conversation that
// already holds 3,000 messages of the same sender touches about as many
// buffers as one into a new conversation. (The client-id lookup once
// walked every earlier message of the sender in the conversation: 150
// times the buffers here, and growing with every message.)
func TestCommitCostDoesNotGrowWithTheConversation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, url := openURL(t)
	for _, acc := range []string{"a", "b", "c", "d"} {
		if _, err := st.UserInsert(ctx, store.NewUser{Account: acc, Username: acc, PasswordHash: "x", Sex: "male", Age: 20}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range [][2]string{{"a", "b"}, {"c", "d"}} {
		if _, err := st.FriendshipInsertPair(ctx, p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	for k := range 6 {
		rows, err := st.MessageCommitBatch(ctx, directSends("a", "b", 500, fmt.Sprintf("old%d-", k)), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Status != store.CommitNew {
				t.Fatalf("earlier send %d: %s", r.Index, r.Status)
			}
		}
	}

	conn := connect(t, url)
	query := generatedSQL(t, "messages", "messageCommitBatch")
	fresh := commitBuffers(t, conn, query, directSends("c", "d", 100, "new-"))
	long := commitBuffers(t, conn, query, directSends("a", "b", 100, "new-"))
	t.Logf("buffers for 100 sends: new conversation %d, conversation of 3,000 messages %d", fresh, long)
	if long > 2*fresh {
		t.Errorf("100 sends into a conversation of 3,000 messages touched %d buffers, into a new one %d", long, fresh)
	}

	// A repeated send is answered with the stored message, read by its
	// client id: a few index pages and one heap page.
	// (Its parameters: sender, client id, conversation.)
	hits := explainBuffers(t, conn, generatedSQL(t, "messages", "messageGetByClientID"), "a", "old3-250", "d:a:b")
	t.Logf("buffers to read a message by its client id: %d", hits)
	if hits > 10 {
		t.Errorf("reading a message by its client id in a conversation of 3,000 messages touched %d buffers", hits)
	}
}

// directSends are n text sends from sender to recipient, with client ids
// prefix0, prefix1, ...
func directSends(sender, recipient string, n int, prefix string) []store.MessageSend {
	a, b := sender, recipient
	if b < a {
		a, b = b, a
	}
	sends := make([]store.MessageSend, n)
	for i := range sends {
		sends[i] = store.MessageSend{
			Conv: "d:" + a + ":" + b, UserA: a, UserB: b, Sender: sender, Recipient: recipient,
			Kind: "text", Body: "hello", ClientMsgID: prefix + strconv.Itoa(i),
		}
	}
	return sends
}

// commitBuffers runs the batch statement on sends under EXPLAIN ANALYZE
// and returns the shared buffers it touched.
func commitBuffers(t *testing.T, conn *pgx.Conn, query string, sends []store.MessageSend) int64 {
	t.Helper()
	return explainBuffers(t, conn, query, commitArgs(sends)...)
}

// commitArgs are the batch statement's parameters for sends, in its order,
// with a change mark interval of one second.
func commitArgs(sends []store.MessageSend) []any {
	n := len(sends)
	convs, usersA, usersB := make([]string, n), make([]string, n), make([]string, n)
	senders, recipients, groups := make([]string, n), make([]string, n), make([]int64, n)
	kinds, bodies, ids, media := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, s := range sends {
		convs[i], usersA[i], usersB[i], senders[i], recipients[i] = s.Conv, s.UserA, s.UserB, s.Sender, s.Recipient
		groups[i], kinds[i], bodies[i], ids[i], media[i] = s.GroupID, s.Kind, s.Body, s.ClientMsgID, s.MediaKind
	}
	return []any{convs, usersA, usersB, senders, recipients, groups, kinds, bodies, ids, media, 1.0}
}

// explainBuffers runs query with args under EXPLAIN ANALYZE, planned as
// the committer plans it (a generic plan), rolls it back and returns the
// shared buffers it touched.
func explainBuffers(t *testing.T, conn *pgx.Conn, query string, args ...any) int64 {
	t.Helper()
	ctx := t.Context()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // the explained inserts are undone
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	var out []byte
	if err := tx.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+query, args...).Scan(&out); err != nil {
		t.Fatal(err)
	}
	var plans []struct {
		Plan struct {
			Hit  int64 `json:"Shared Hit Blocks"`
			Read int64 `json:"Shared Read Blocks"`
			Rows int64 `json:"Actual Rows"`
		}
	}
	if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("explain output %s: %v", out, err)
	}
	if p := plans[0].Plan; p.Rows < 1 {
		t.Fatalf("%s answered no row", query)
	}
	return plans[0].Plan.Hit + plans[0].Plan.Read
}

// generatedSQL is the statement that sqlc generated as the constant name
// in gen/db/<file>.sql.gen.go.
func generatedSQL(t *testing.T, file, name string) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../../gen/db/"+file+".sql.gen.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			if len(v.Names) == 1 && v.Names[0].Name == name {
				q, err := strconv.Unquote(v.Values[0].(*ast.BasicLit).Value)
				if err != nil {
					t.Fatal(err)
				}
				return q
			}
		}
	}
	t.Fatalf("no %s in gen/db/%s.sql.gen.go", name, file)
	return ""
}

package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"tim/gen/models"
	"tim/internal/reply"
	"tim/internal/testenv"
	"tim/internal/wstest"
)

// TestGroupRefusalsAgree: the member list, the group history, the group
// readers, a REST read, the group socket's handshake and a user socket's
// send, read and typing frames answer an unknown group and a non-member
// with the same statuses and messages, reply's.
func TestGroupRefusalsAgree(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	a := env.Register(t, "a")
	c := env.Register(t, "c")
	join(t, env, a, "a", 7)
	user := wstest.MustDial(t, env.WebSocketURL("/websocket/c"), c)
	user.NextOf("connected")

	for _, tc := range []struct {
		name    string
		group   int64
		status  int
		message string
	}{
		{"unknown group", 8, http.StatusNotFound, "群聊不存在"},
		{"not a member", 7, http.StatusForbidden, "不是群成员，无权查看"},
	} {
		if tc.message != reply.GroupNotFound.Message && tc.message != reply.NotGroupMember.Message {
			t.Fatalf("%q is no group refusal of reply's", tc.message)
		}
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, status int, body []byte) {
				t.Helper()
				var e models.Envelope
				if err := json.Unmarshal(body, &e); err != nil || status != tc.status || int(e.Code) != tc.status || e.Message != tc.message {
					t.Errorf("%s: status %d, body %s; want %d %q", what, status, body, tc.status, tc.message)
				}
			}
			members, err := env.Client.GetGroupMembersWithResponse(ctx, &models.GetGroupMembersParams{GroupID: tc.group}, testenv.Auth(c))
			if err != nil {
				t.Fatal(err)
			}
			check("getGroupMembers", members.StatusCode(), members.Body)
			history, err := env.Client.GetGroupMessagesWithResponse(ctx, &models.GetGroupMessagesParams{Account: "c", GroupID: tc.group}, testenv.Auth(c))
			if err != nil {
				t.Fatal(err)
			}
			check("groupMessages", history.StatusCode(), history.Body)
			readers, err := env.Client.GetGroupReadersWithResponse(ctx, &models.GetGroupReadersParams{GroupID: tc.group, Seq: 1}, testenv.Auth(c))
			if err != nil {
				t.Fatal(err)
			}
			check("groupReaders", readers.StatusCode(), readers.Body)
			if tc.status == http.StatusForbidden {
				// An unknown group's send, read or typing is refused as
				// the non-member's: the socket does not tell them apart.
				gid := tc.group
				read, err := env.Client.MarkReadWithResponse(ctx, models.ReadRequest{GroupId: &gid, Seq: 1}, testenv.Auth(c))
				if err != nil {
					t.Fatal(err)
				}
				check("read", read.StatusCode(), read.Body)
				frame := func(what string, f map[string]any) {
					t.Helper()
					body, err := json.Marshal(f)
					if err != nil {
						t.Fatal(err)
					}
					check(what, int(f["code"].(float64)), body)
				}
				id := "s-1"
				user.SendJSON(models.SendFrame{Type: "send", GroupId: &gid, Text: "hi", ClientMsgId: &id})
				frame("send frame", user.NextOf("error"))
				user.SendJSON(models.ReadFrame{Type: "read", GroupId: &gid, Seq: 1})
				frame("read frame", user.NextOf("error"))
				user.SendJSON(models.TypingClientFrame{Type: "typing", GroupId: &gid})
				frame("typing frame", user.NextOf("error"))
			}
			h := http.Header{}
			h.Set("token", c)
			_, res, err := wstest.Dial(t, env.WebSocketURL("/websocket/"+jsonNumber(tc.group)+"/c"), h)
			if err == nil {
				t.Fatal("group socket opened")
			}
			if res == nil {
				t.Fatalf("group socket: %v", err)
			}
			body, _ := io.ReadAll(res.Body)
			check("group socket", res.StatusCode, body)
		})
	}
}

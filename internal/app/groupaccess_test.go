package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"tim/gen/models"
	"tim/internal/testenv"
	"tim/internal/wstest"
)

// TestGroupRefusalsAgree: the member list, the group history and the group
// socket answer an unknown group and a non-member with the same statuses
// and messages, the contract's.
func TestGroupRefusalsAgree(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	a := env.Register(t, "a")
	c := env.Register(t, "c")
	join(t, env, a, "a", 7)

	for _, tc := range []struct {
		name    string
		group   int64
		status  int
		message string
	}{
		{"unknown group", 8, http.StatusNotFound, "群聊不存在"},
		{"not a member", 7, http.StatusForbidden, "不是群成员，无权查看"},
	} {
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

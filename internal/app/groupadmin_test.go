package app_test

import (
	"net/http"
	"testing"

	"tim/gen/models"
	"tim/internal/testenv"
)

// TestKickAcrossInstances: a kick served by one instance takes the group
// from the kicked account's sockets on the other at once: its group socket
// there closes with 4003, and its user socket there stops carrying the
// group, while the members who stay keep getting its messages and see the
// kick as an event in the group's timeline.
func TestKickAcrossInstances(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	peer := env.Peer(t)
	to, tm, tk := env.Register(t, "owner"), env.Register(t, "stays"), env.Register(t, "kicked")
	join(t, env, to, "owner", 9)
	join(t, env, tm, "stays", 9)
	join(t, env, tk, "kicked", 9)

	group := dial(t, peer, "/websocket/9/kicked", tk)
	group.NextOf("group.online")
	user := dial(t, peer, "/websocket/kicked", tk)
	user.NextOf("users")
	stays := dial(t, peer, "/websocket/stays", tm)
	stays.NextOf("users")

	res, err := env.Client.KickMemberWithResponse(ctx, &models.KickMemberParams{UserAccount: "owner", GroupID: 9, TargetAccount: "kicked"}, testenv.Auth(to))
	if err != nil || res.StatusCode() != http.StatusOK {
		t.Fatalf("kick: %v %s", err, res.Body)
	}
	if code := group.Closed(); code != 4003 {
		t.Fatalf("the kicked account's group socket on the other instance closed with %d, want 4003", code)
	}
	for {
		ev := stays.NextOf("event")
		if ev["event"] == "kick" {
			if ev["actor"] != "owner" || ev["target"] != "kicked" || ev["text"] != "用户kicked被owner移出群聊" {
				t.Fatalf("kick event %v", ev)
			}
			break
		}
	}

	// A message sent after the kick reaches the member who stays, on the
	// other instance, and not the kicked account's user socket there: the
	// next message it gets is the direct one sent after.
	owner := dial(t, env, "/websocket/owner", to)
	owner.NextOf("users")
	owner.Send(`{"type":"send","groupId":9,"text":"after the kick","clientMsgId":"g1"}`)
	owner.Until("ack")
	if m := stays.Message(); m.Message != "after the kick" {
		t.Fatalf("member who stays got %+v", m)
	}
	befriend(t, env, to, "owner", "kicked")
	owner.Send(`{"type":"send","to":"kicked","text":"direct","clientMsgId":"d1"}`)
	owner.Until("ack")
	for {
		f := user.Next()
		if f["type"] != "message" {
			continue
		}
		if f["message"] != "direct" {
			t.Fatalf("the kicked account's user socket got %v, want only the direct message", f)
		}
		break
	}
}

package app_test

import (
	"strconv"
	"testing"

	"tim/gen/models"
	"tim/internal/reply"
	"tim/internal/sniff/snifftestdata"
	"tim/internal/testenv"
	"tim/internal/wstest"
)

// TestMediaSendNamesOwnUploadOnly: a media send naming another account's
// upload is refused 403 on every channel that takes typed sends (user,
// one-to-one, group; direct and group conversations), and nothing is
// stored: the next accepted sends take the seqs that follow. A legacy
// frame carries text only, so the same name sent that way is a text
// message without media.
func TestMediaSendNamesOwnUploadOnly(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ta, tb := env.Register(t, "a"), env.Register(t, "b")
	befriend(t, env, ta, "a", "b")
	join(t, env, ta, "a", 1)
	join(t, env, tb, "b", 1)
	bPic := upload(t, env, tb, "/uploadchatpic", pngOf(t, 8, 8))
	bMP3 := upload(t, env, tb, "/uploadmp3", snifftestdata.MP3(40))
	aPic := upload(t, env, ta, "/uploadchatpic", pngOf(t, 9, 9))

	user := dial(t, env, "/websocket/a", ta)
	chat := dial(t, env, "/websocket/OneToOne/a/b", ta)
	group := dial(t, env, "/websocket/1/a", ta)
	refused := []struct {
		conn  *wstest.Conn
		frame string
	}{
		{user, `{"type":"send","to":"b","kind":"image","text":"` + bPic + `","clientMsgId":"r1"}`},
		{user, `{"type":"send","to":"b","kind":"audio","text":"` + bMP3 + `","clientMsgId":"r2"}`},
		{user, `{"type":"send","groupId":1,"kind":"image","text":"` + bPic + `","clientMsgId":"r3"}`},
		{chat, `{"type":"send","to":"b","kind":"image","text":"` + bPic + `","clientMsgId":"r4"}`},
		{group, `{"type":"send","groupId":1,"kind":"image","text":"` + bPic + `","clientMsgId":"r5"}`},
	}
	for i, r := range refused {
		r.conn.Send(r.frame)
		f := r.conn.Until("error")
		if f["code"] != float64(403) || f["message"] != reply.NotOwnUpload.Message || f["clientMsgId"] != "r"+strconv.Itoa(i+1) {
			t.Errorf("%s: %v, want 403 %s", r.frame, f, reply.NotOwnUpload.Message)
		}
	}

	// The legacy frame stores text: seq 1 of a and b's conversation.
	user.Send(`{"to":"b","text":"` + bPic + `"}`)
	if f := user.Until("ack"); f["seq"] != float64(1) {
		t.Fatalf("legacy frame's ack %v, want seq 1", f)
	}
	// Nothing of the refused sends was stored: a's own picture takes seq 2
	// of the direct conversation and seq 3 of the group (after the two join
	// events).
	user.Send(`{"type":"send","to":"b","kind":"image","text":"` + aPic + `","clientMsgId":"ok1"}`)
	if f := user.Until("ack"); f["clientMsgId"] != "ok1" || f["seq"] != float64(2) || f["media"] == nil {
		t.Fatalf("own picture's ack %v, want seq 2 with media", f)
	}
	user.Send(`{"type":"send","groupId":1,"kind":"image","text":"` + aPic + `","clientMsgId":"ok2"}`)
	if f := user.Until("ack"); f["clientMsgId"] != "ok2" || f["seq"] != float64(3) {
		t.Fatalf("own picture's group ack %v, want seq 3", f)
	}

	res, err := env.Client.GetMessagesWithResponse(ctx, &models.GetMessagesParams{Account: "b", With: "a"}, testenv.Auth(tb))
	if err != nil || res.JSON200 == nil {
		t.Fatalf("history: %v %s", err, res.Body)
	}
	hist := res.JSON200.Data
	if len(hist) != 2 || hist[0].Kind != "text" || hist[0].Message != bPic || hist[0].Media != nil || hist[1].Message != aPic || hist[1].Media == nil {
		t.Fatalf("history %+v, want the legacy text and a's picture", hist)
	}
}

package realtime

import (
	"context"
	"encoding/json"
	"testing"

	"tim/gen/models"
	"tim/internal/messages"
)

func (c *client) recall(id int64) {
	c.t.Helper()
	c.SendJSON(models.RecallClientFrame{Type: models.RecallClientFrameTypeRecall, Id: id})
}

// recallFrame reads frames up to the next recall frame, failing on a
// message or error frame before it.
func (c *client) recallFrame() models.RecallFrame {
	c.t.Helper()
	f := c.NextOf("recall")
	var r models.RecallFrame
	b, _ := json.Marshal(f)
	if err := json.Unmarshal(b, &r); err != nil {
		c.t.Fatal(err)
	}
	return r
}

// errorFrame reads the next frame but presence, which must be an error.
func (c *client) errorFrame() models.ErrorFrame {
	c.t.Helper()
	f := c.Next()
	for f["type"] == "presence" {
		f = c.Next()
	}
	if f["type"] != "error" {
		c.t.Fatalf("want an error frame, got %v", f)
	}
	var r models.ErrorFrame
	b, _ := json.Marshal(f)
	if err := json.Unmarshal(b, &r); err != nil {
		c.t.Fatal(err)
	}
	return r
}

// sendAndAck sends a typed message on c and returns its ack: the sending
// socket gets no copy of its own message.
func (c *client) sendAndAck(f models.SendFrame) models.AckFrame {
	c.t.Helper()
	f.Type = "send"
	c.SendJSON(f)
	acks, _ := c.AcksAndMessages(1, 0)
	return acks[0]
}

func wantRecall(t *testing.T, got models.RecallFrame, id, seq int64, by, with string, group int64) {
	t.Helper()
	ok := got.Id == id && got.Seq == seq && got.By == by && !got.Time.IsZero()
	if group != 0 {
		ok = ok && got.GroupId != nil && *got.GroupId == group && got.With == nil
	} else {
		ok = ok && got.With != nil && *got.With == with && got.GroupId == nil
	}
	if !ok {
		t.Fatalf("recall frame %+v, want id %d seq %d by %s with %q group %d", got, id, seq, by, with, group)
	}
}

// TestRecallReachesEveryParticipant: a recall by the sender reaches both
// parties of a direct conversation and every member of a group, on both
// instances, as the conversation's next seq; a member who was offline gets
// the recalled message (recalled, emptied) and then the recall from its
// cursor, and the conversation goes on without a gap.
func TestRecallReachesEveryParticipant(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := e.peer()
	a, b := e.user("a"), e.user("b")
	e.user("c")
	e.befriend("a", "b")
	e.group(7, "a", "b", "c")

	ca := e.dial("/websocket/a", a)
	ca.Next()
	ca.Next()
	cb := p.dial("/websocket/b", b)
	cb.Next()
	cb.Next()
	cbDirect := p.dial("/websocket/OneToOne/b/a", b)
	cbDirect.Next()

	to, gid := "b", int64(7)
	dm := ca.sendAndAck(models.SendFrame{To: &to, Text: "secret"})
	gm := ca.sendAndAck(models.SendFrame{GroupId: &gid, Text: "group secret"})
	if m := cb.Message(); m.Id != dm.Id {
		t.Fatalf("b got %+v", m)
	}
	if m := cb.Message(); m.Id != gm.Id {
		t.Fatalf("b got %+v", m)
	}
	if m := cbDirect.Message(); m.Id != dm.Id {
		t.Fatalf("b's one-to-one socket got %+v", m)
	}

	ca.recall(dm.Id)
	wantRecall(t, ca.recallFrame(), dm.Id, 2, "a", "b", 0)
	wantRecall(t, cb.recallFrame(), dm.Id, 2, "a", "b", 0)
	wantRecall(t, cbDirect.recallFrame(), dm.Id, 2, "a", "b", 0)
	ca.recall(gm.Id)
	wantRecall(t, ca.recallFrame(), gm.Id, 2, "a", "", 7)
	wantRecall(t, cb.recallFrame(), gm.Id, 2, "a", "", 7)

	// c was offline: its cursor brings the recalled message, emptied, then
	// the recall.
	cc := e.dial("/websocket/c", e.token("c"))
	cc.Next()
	cc.Next()
	m := cc.Message()
	if m.Id != gm.Id || m.Seq != 1 || m.Message != "" || m.Recalled == nil || !*m.Recalled || m.Media != nil {
		t.Fatalf("offline member got %+v", m)
	}
	wantRecall(t, cc.recallFrame(), gm.Id, 2, "a", "", 7)
	// The conversation goes on at seq 3 for everyone.
	next := cb.sendAndAck(models.SendFrame{GroupId: &gid, Text: "next"})
	if next.Seq != 3 {
		t.Fatalf("next group message seq %d, want 3", next.Seq)
	}
	if m := cc.Message(); m.Seq != 3 {
		t.Fatalf("c got %+v", m)
	}
	if m := ca.Message(); m.Seq != 3 {
		t.Fatalf("a got %+v", m)
	}
}

// TestRecallRefused: the recipient, an outsider, a message past the
// window, an unknown id, another socket's conversation and a second recall
// are refused with an error frame naming the id, and change nothing.
func TestRecallRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.user("c")
	e.befriend("a", "b")
	e.group(7, "a", "b")

	ca := e.dial("/websocket/a", a)
	ca.Next()
	ca.Next()
	cb := e.dial("/websocket/b", b)
	cb.Next()
	cb.Next()
	cc := e.dial("/websocket/c", e.token("c"))
	cc.Next()
	cc.Next()
	caDirect := e.dial("/websocket/OneToOne/a/b", a)
	caDirect.Next()
	to, gid := "b", int64(7)
	dm := ca.sendAndAck(models.SendFrame{To: &to, Text: "hi"})
	old := ca.sendAndAck(models.SendFrame{To: &to, Text: "old"})
	gm := ca.sendAndAck(models.SendFrame{GroupId: &gid, Text: "g"})
	for range 3 {
		cb.Message()
	}
	if _, err := e.pool.Exec(context.Background(), "UPDATE messages SET created_at = now() - interval '3 minutes' WHERE id = $1", old.Id); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the direct messages, live
		caDirect.Message()
	}

	check := func(c *client, id int64, code int32, msg string) {
		t.Helper()
		c.recall(id)
		f := c.errorFrame()
		if f.Code != code || f.Message != msg || f.Id == nil || *f.Id != id {
			t.Fatalf("recall %d: %+v, want %d %s", id, f, code, msg)
		}
	}
	check(cb, dm.Id, 403, "只能撤回自己发送的消息")
	check(cc, dm.Id, 404, "消息不存在")
	check(cc, gm.Id, 404, "消息不存在")
	check(ca, old.Id, 403, "超过撤回时限")
	check(ca, 1<<40, 404, "消息不存在")
	check(caDirect, gm.Id, 404, "消息不存在")
	ca.recall(dm.Id)
	wantRecall(t, ca.recallFrame(), dm.Id, 3, "a", "b", 0)
	wantRecall(t, cb.recallFrame(), dm.Id, 3, "a", "b", 0)
	check(ca, dm.Id, 409, "消息已撤回")
	cb.Send(`{"type":"recall","id":0}`)
	if f := cb.errorFrame(); f.Code != 400 {
		t.Fatalf("recall of id 0: %+v", f)
	}
	cb.Send(`{"type":"recall","id":1,"with":"a"}`)
	if f := cb.errorFrame(); f.Code != 400 {
		t.Fatalf("recall with an unknown field: %+v", f)
	}

	// Nothing else changed: the old message keeps its text, and the next
	// message follows the one recall.
	msgs, err := e.svc.reader.After(context.Background(), messages.DirectKey("a", "b"), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || msgs[1].Body != "old" || msgs[1].Recalled || !msgs[0].Recalled || msgs[2].Kind != messages.KindRecall {
		t.Fatalf("conversation %+v", msgs)
	}
	if m := cb.sendAndAck(models.SendFrame{To: ptr("a"), Text: "after"}); m.Seq != 4 {
		t.Fatalf("next seq %d, want 4", m.Seq)
	}
}

// TestRecallSurvivesRestart: a recall committed before a restart reaches a
// recipient who connects afterwards, after the recalled message, which
// arrives emptied.
func TestRecallSurvivesRestart(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	ca := e.dial("/websocket/OneToOne/a/b", a)
	ca.Next()
	ca.Send("to be recalled")
	acks, _ := ca.AcksAndMessages(1, 1)
	ca.Send("kept")
	ca.AcksAndMessages(1, 1)
	ca.recall(acks[0].Id)
	wantRecall(t, ca.recallFrame(), acks[0].Id, 3, "a", "b", 0)

	e.restart()
	cb := e.dial("/websocket/b", b)
	cb.Next()
	cb.Next()
	m := cb.Message()
	if m.Id != acks[0].Id || m.Seq != 1 || m.Message != "" || m.Recalled == nil || !*m.Recalled {
		t.Fatalf("recalled message %+v", m)
	}
	if m := cb.Message(); m.Seq != 2 || m.Message != "kept" || m.Recalled != nil {
		t.Fatalf("kept message %+v", m)
	}
	wantRecall(t, cb.recallFrame(), acks[0].Id, 3, "a", "b", 0)
}

func ptr[T any](v T) *T { return &v }

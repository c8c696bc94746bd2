package frame

import (
	"encoding/json"
	"testing"
	"time"
)

// checkEncoders fails unless the hand-written message and ack frames of m
// are byte for byte what json.Marshal writes for the generated types.
func checkEncoders(t *testing.T, m Message) {
	t.Helper()
	want, err := json.Marshal(MessageOf(m))
	if m.Kind == RecallEvent {
		want, err = json.Marshal(RecallOf(m))
	}
	if err != nil {
		return // json.Marshal refuses it (a time past year 9999): so does the fallback
	}
	if got := EncodeMessage(m); string(got) != string(want) {
		t.Fatalf("message frame of %+v:\n got %s\nwant %s", m, got, want)
	}
	if want, _ := json.Marshal(AckOf(m)); string(EncodeAck(m)) != string(want) {
		t.Fatalf("ack of %+v:\n got %s\nwant %s", m, EncodeAck(m), want)
	}
}

func TestEncodersMatchJSON(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, 5, 1, 9, 30, 0, 123000000, time.UTC)
	for _, body := range []string{
		"hi", "周六去爬山吗？", "", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tnew\nline\r\x01\x1f",
		"line\u2028sep\u2029", "bad \xff utf-8", "replacement \ufffd", "emoji 😀", "\x7f del",
	} {
		for _, m := range []Message{
			{ID: 42, Seq: 12, Sender: "bob", Recipient: "alice", Kind: "text", Body: body, Time: when},
			{ID: 43, Seq: 1, Sender: "bob", GroupID: 7, Kind: "text", Body: body, ClientMsgID: body, Time: when.Add(time.Nanosecond)},
			{ID: 44, Seq: 13, Sender: "a", Recipient: "b", Kind: "image", Body: body, Time: when.In(time.FixedZone("x", 8*3600))},
			{ID: 45, Seq: 14, Sender: "a", Recipient: "b", Kind: "text", Recalled: true, Time: when},
			{ID: 46, Seq: 2, Sender: "a", GroupID: 1<<53 - 1, Kind: RecallEvent, Recalls: 45, Time: when},
			{ID: 47, Seq: 15, Sender: "a", Recipient: "b", Kind: "image", Body: "p.png", Media: &Media{Type: "image/png", Size: 10, Width: 1, Height: 1}, Time: when},
			{ID: 48, Seq: 16, Sender: "a", Recipient: "b", Kind: "text", Body: body, Time: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)},
		} {
			checkEncoders(t, m)
		}
	}
}

// FuzzEncoders holds the hand-written encoders to json.Marshal for any
// strings, numbers and times.
func FuzzEncoders(f *testing.F) {
	f.Add("bob", "alice", "周六去爬山吗？", "c-1", int64(42), int64(12), int64(0), int64(1714555800123000000))
	f.Add("a", "", "<&>\u2028\"\\", "", int64(1), int64(1), int64(7), int64(0))
	f.Fuzz(func(t *testing.T, sender, recipient, body, clientMsgID string, id, seq, gid, nanos int64) {
		m := Message{
			ID: id, Seq: seq, Sender: sender, Recipient: recipient, GroupID: gid, Kind: "text",
			Body: body, ClientMsgID: clientMsgID, Time: time.Unix(0, nanos).UTC(),
		}
		checkEncoders(t, m)
	})
}

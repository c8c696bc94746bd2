package frame

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"tim/gen/models"
)

// checkJoinFrames fails unless the join notices of these values decode,
// with the generated types, back into what was encoded.
func checkJoinFrames(t *testing.T, id, group int64, account, message string, nanos int64, accepted bool) {
	t.Helper()
	when := time.Unix(0, nanos).UTC()
	var req models.JoinRequestFrame
	data := EncodeJoinRequest(JoinRequest{ID: id, GroupID: group, Account: account, Message: message, Time: when})
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatalf("joinRequest frame %s: %v", data, err)
	}
	// Invalid UTF-8 is written as U+FFFD, as json.Marshal does.
	text := utf8.ValidString(account) && utf8.ValidString(message)
	if req.Type != "joinRequest" || req.Id != id || req.GroupId != group || !req.Time.Equal(when) ||
		text && (req.Account != account || req.Message != message) {
		t.Fatalf("joinRequest frame %s decodes to %+v", data, req)
	}
	var ans models.JoinRequestAnsweredFrame
	data = EncodeJoinRequestAnswered(id, group, accepted)
	if err := json.Unmarshal(data, &ans); err != nil {
		t.Fatalf("joinRequestAnswered frame %s: %v", data, err)
	}
	if ans != (models.JoinRequestAnsweredFrame{Type: "joinRequestAnswered", Id: id, GroupId: group, Accepted: accepted}) {
		t.Fatalf("joinRequestAnswered frame %s decodes to %+v", data, ans)
	}
}

func TestJoinFrames(t *testing.T) {
	t.Parallel()
	if got := string(EncodeJoinRequestAnswered(31, 7, true)); got != `{"accepted":true,"groupId":7,"id":31,"type":"joinRequestAnswered"}` {
		t.Errorf("joinRequestAnswered = %s", got)
	}
	when := time.Date(2024, 5, 1, 10, 5, 0, 0, time.FixedZone("x", 8*3600))
	got := string(EncodeJoinRequest(JoinRequest{ID: 31, GroupID: 7, Account: "carol", Message: "我是小明", Time: when}))
	if want := `{"account":"carol","groupId":7,"id":31,"message":"我是小明","time":"2024-05-01T02:05:00Z","type":"joinRequest"}`; got != want {
		t.Errorf("joinRequest = %s, want %s", got, want)
	}
}

// FuzzJoinEncoders holds the join notices to what the generated types
// decode, for any strings and numbers.
func FuzzJoinEncoders(f *testing.F) {
	f.Add(int64(31), int64(7), "carol", "我是小明，想一起去爬山", int64(1714557900000000000), true)
	f.Fuzz(func(t *testing.T, id, group int64, account, message string, nanos int64, accepted bool) {
		checkJoinFrames(t, id, group, account, message, nanos, accepted)
	})
}

package frame

import (
	"encoding/json"
	"testing"
	"time"

	"tim/gen/models"
)

// TestEventFrames: each kind of group event encodes to an event frame of
// the contract's shape with its text line, and history lists it as a
// text message from its actor carrying the frame.
func TestEventFrames(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, 5, 1, 10, 5, 0, 0, time.UTC)
	until := when.Add(10 * time.Minute)
	yes, name, ann, empty := true, "周末爬山", "八点集合", ""
	for _, tc := range []struct {
		e    Event
		text string
	}{
		{Event{Kind: models.GroupEventKindJoin, Target: "bob"}, "用户bob加入群聊"},
		{Event{Kind: models.GroupEventKindLeave, Target: "bob"}, "用户bob退出群聊"},
		{Event{Kind: models.GroupEventKindKick, Target: "carol"}, "用户carol被bob移出群聊"},
		{Event{Kind: models.GroupEventKindRole, Target: "carol", Role: models.GroupRoleAdmin}, "用户carol被bob设为管理员"},
		{Event{Kind: models.GroupEventKindRole, Target: "carol", Role: models.GroupRoleMember}, "用户carol被bob取消管理员"},
		{Event{Kind: models.GroupEventKindMute, Target: "carol", MutedUntil: &until}, "用户carol被bob禁言至2024-05-01 10:15:00 UTC"},
		{Event{Kind: models.GroupEventKindMute, Target: "carol"}, "用户carol被bob解除禁言"},
		{Event{Kind: models.GroupEventKindMuteGroup, Muted: &yes}, "bob开启了全员禁言"},
		{Event{Kind: models.GroupEventKindRename, Name: &name}, `bob将群名改为"周末爬山"`},
		{Event{Kind: models.GroupEventKindAnnouncement, Announcement: &ann}, "bob更新了群公告：八点集合"},
		{Event{Kind: models.GroupEventKindAnnouncement, Announcement: &empty}, "bob清除了群公告"},
		{Event{Kind: models.GroupEventKindTransfer, Target: "carol"}, "bob将群主转让给carol"},
		{Event{Kind: models.GroupEventKindDissolve}, "bob解散了群聊"},
	} {
		m := Message{ID: 60, Seq: 6, Sender: "bob", GroupID: 7, Kind: GroupEventKind, Body: EncodeEventBody(tc.e), Time: when}
		back, err := DecodeEventBody(m.Body)
		if err != nil || EncodeEventBody(back) != m.Body {
			t.Fatalf("%s: body %s decodes to %+v, %v", tc.e.Kind, m.Body, back, err)
		}
		var f models.EventFrame
		if err := json.Unmarshal(EncodeMessage(m), &f); err != nil {
			t.Fatal(err)
		}
		if f.Type != models.EventFrameTypeEvent || f.Event != tc.e.Kind || f.Actor != "bob" || f.GroupId != 7 || f.Seq != 6 || f.Id != 60 || f.Text != tc.text {
			t.Fatalf("%s: frame %+v, want text %q", tc.e.Kind, f, tc.text)
		}
		h := MessageOf(m)
		if h.Kind != models.MessageKindText || h.FromUser != "bob" || h.Message != tc.text || h.Event == nil || string(mustJSON(h.Event)) != string(EncodeMessage(m)) || h.Seq != 6 {
			t.Fatalf("%s: history row %+v", tc.e.Kind, h)
		}
	}
}

// FuzzEventBody: any stored body decodes without panicking, and an event
// frame is always encoded, with a text line; a body that decodes encodes
// back to a body that decodes to the same event.
func FuzzEventBody(f *testing.F) {
	f.Add(`{"event":"kick","target":"carol"}`)
	f.Add(`{"event":"mute","target":"carol","mutedUntil":"2024-05-01T10:15:00Z"}`)
	f.Add(`{"event":"rename","name":"\u2028<&>"}`)
	f.Add(`not json`)
	f.Fuzz(func(t *testing.T, body string) {
		m := Message{ID: 1, Seq: 1, Sender: "a", GroupID: 1, Kind: GroupEventKind, Body: body, Time: time.Unix(0, 0).UTC()}
		var fr models.EventFrame
		if err := json.Unmarshal(EncodeMessage(m), &fr); err != nil || fr.Type != models.EventFrameTypeEvent || fr.Text == "" {
			t.Fatalf("body %q: frame %+v, %v", body, fr, err)
		}
		e, err := DecodeEventBody(body)
		if err != nil {
			return
		}
		again, err := DecodeEventBody(EncodeEventBody(e))
		if err != nil || EncodeEventBody(again) != EncodeEventBody(e) {
			t.Fatalf("body %q: %+v re-encodes to %+v, %v", body, e, again, err)
		}
	})
}

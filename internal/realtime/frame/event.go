package frame

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"tim/gen/models"
)

// GroupEventKind is the kind of a stored group event: a row of the group's
// conversation with a seq of its own, written as an event frame, never
// sent by a client.
const GroupEventKind = "event"

// Event is a change to a group as its event row's body stores it (JSON);
// the row itself holds the actor (its sender), the group, seq, id and time.
type Event struct {
	Kind   models.GroupEventKind `json:"event"`
	Target string                `json:"target,omitempty"`
	// The changed value, by kind: Role (role), MutedUntil (mute; nil when
	// lifted), Muted (muteGroup), Name (rename), Announcement
	// (announcement).
	Role         models.GroupRole `json:"role,omitempty"`
	MutedUntil   *time.Time       `json:"mutedUntil,omitempty"`
	Muted        *bool            `json:"muted,omitempty"`
	Name         *string          `json:"name,omitempty"`
	Announcement *string          `json:"announcement,omitempty"`
}

// errEventBody is a stored body that is no event.
var errEventBody = errors.New("event body: not a group event")

// EncodeEventBody is e as an event row stores it.
func EncodeEventBody(e Event) string { return string(mustJSON(e)) }

// DecodeEventBody reads an event row's body.
func DecodeEventBody(body string) (Event, error) {
	var e Event
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return Event{}, fmt.Errorf("%w: %w", errEventBody, err)
	}
	if !e.Kind.Valid() {
		return Event{}, fmt.Errorf("%w: kind %q", errEventBody, e.Kind)
	}
	return e, nil
}

// EventOf is m, a group event row (kind GroupEventKind), as the event frame
// clients receive. A body that does not decode (which the server never
// stores) reads as an event of its kind with no values.
func EventOf(m Message) models.EventFrame {
	e, err := DecodeEventBody(m.Body)
	if err != nil {
		e = Event{Kind: models.GroupEventKind(m.Body)}
	}
	f := models.EventFrame{
		Type: models.EventFrameTypeEvent, Id: m.ID, Seq: m.Seq, GroupId: m.GroupID, Event: e.Kind, Actor: m.Sender,
		Time: m.Time, Muted: e.Muted, Name: e.Name, Announcement: e.Announcement,
	}
	if e.Target != "" {
		target := e.Target
		f.Target = &target
	}
	if e.Role != "" {
		role := e.Role
		f.Role = &role
	}
	if e.MutedUntil != nil {
		until := e.MutedUntil.UTC()
		f.MutedUntil = &until
	}
	f.Text = EventText(f)
	return f
}

// EventText is the event as one plain Chinese line, in the style of the
// original system's group announcements (用户X上线), for clients that know
// no event frames.
func EventText(f models.EventFrame) string {
	target := ""
	if f.Target != nil {
		target = *f.Target
	}
	switch f.Event {
	case models.GroupEventKindJoin:
		if target != "" && target != f.Actor { // accepted or invited by the actor
			return f.Actor + "将用户" + target + "加入群聊"
		}
		return "用户" + f.Actor + "加入群聊"
	case models.GroupEventKindLeave:
		return "用户" + f.Actor + "退出群聊"
	case models.GroupEventKindKick:
		return "用户" + target + "被" + f.Actor + "移出群聊"
	case models.GroupEventKindRole:
		if f.Role != nil && *f.Role == models.GroupRoleAdmin {
			return "用户" + target + "被" + f.Actor + "设为管理员"
		}
		return "用户" + target + "被" + f.Actor + "取消管理员"
	case models.GroupEventKindMute:
		if f.MutedUntil != nil {
			return "用户" + target + "被" + f.Actor + "禁言至" + f.MutedUntil.UTC().Format("2006-01-02 15:04:05") + " UTC"
		}
		return "用户" + target + "被" + f.Actor + "解除禁言"
	case models.GroupEventKindMuteGroup:
		if f.Muted != nil && *f.Muted {
			return f.Actor + "开启了全员禁言"
		}
		return f.Actor + "关闭了全员禁言"
	case models.GroupEventKindRename:
		name := ""
		if f.Name != nil {
			name = *f.Name
		}
		return f.Actor + `将群名改为"` + name + `"`
	case models.GroupEventKindAnnouncement:
		if f.Announcement == nil || *f.Announcement == "" {
			return f.Actor + "清除了群公告"
		}
		return f.Actor + "更新了群公告：" + *f.Announcement
	case models.GroupEventKindTransfer:
		return f.Actor + "将群主转让给" + target
	case models.GroupEventKindDissolve:
		return f.Actor + "解散了群聊"
	}
	return strings.TrimSpace(f.Actor + " " + string(f.Event))
}

// EncodeEvent is m's event frame.
func EncodeEvent(m Message) []byte { return mustJSON(EventOf(m)) }

// historyEvent is m, a group event row, as history lists it: a message
// frame of kind text from the actor whose message is the event's text and
// whose event is the event frame.
func historyEvent(m Message) models.MessageFrame {
	ev := EventOf(m)
	gid := m.GroupID
	return models.MessageFrame{
		Type: models.MessageFrameTypeMessage, Id: m.ID, Seq: m.Seq, FromUser: m.Sender, GroupId: &gid,
		Message: ev.Text, Kind: models.MessageKindText, Time: m.Time, Event: &ev,
	}
}

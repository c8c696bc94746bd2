// Package messages stores messages durably: it names conversations, commits
// sends in batches with gap-free seqs, and reads messages back by seq.
package messages

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"tim/internal/realtime/frame"
	"tim/internal/reply"
	"tim/internal/store"
)

// A send is refused, and nothing stored, with reply.NotFriends (the sender
// is not the recipient's friend), reply.NoPermission (the recipient blocks
// the sender), reply.YouBlock (the sender blocks the recipient),
// reply.NotGroupMember (not a member of the group, or no such group),
// reply.Muted (the sender is muted in the group, with reply.MuteEnd its
// mute's end, or the group is), reply.FileNotFound (a media send names no
// stored upload), reply.NotImageFile, NotMP3File or NotMP4File (it names an
// upload of another kind, an MP3 sent as an image), or reply.ShuttingDown
// (the committer is closed). Other errors are failures.

// forbidden is the refusal of a send its sender may not make.
func forbidden(s Send) reply.Refusal {
	if s.GroupID != 0 {
		return reply.NotGroupMember
	}
	return reply.NotFriends
}

// wrongMedia is the refusal of a media send of kind k that names an upload
// of another kind.
func wrongMedia(k string) reply.Refusal {
	switch k {
	case KindImage:
		return reply.NotImageFile
	case KindAudio:
		return reply.NotMP3File
	}
	return reply.NotMP4File
}

// Kinds of message.
const (
	KindText  = "text"
	KindImage = "image"
	KindAudio = "audio"
	KindVideo = "video"
	// KindRecall is the kind of the event recalling a message: a row of
	// the conversation with a seq of its own, never sent by a client.
	KindRecall = frame.RecallEvent
	// KindEvent is the kind of a group's event (join, kick, rename...): a
	// row of the group's conversation with a seq of its own, the actor as
	// sender and the event's JSON as body, never sent by a client.
	KindEvent = frame.GroupEventKind
)

// ValidKind reports whether k is a kind of message a client sends.
func ValidKind(k string) bool {
	switch k {
	case KindText, KindImage, KindAudio, KindVideo:
		return true
	}
	return false
}

// Message is a committed message: the stored one (see store.Message for
// its fields), which clients receive as a message frame.
type Message store.Message

// DirectKey names the conversation between accounts a and b.
func DirectKey(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "d:" + a + ":" + b
}

// GroupKey names a group's conversation.
func GroupKey(id int64) string { return "g:" + strconv.FormatInt(id, 10) }

// ParseKey splits a conversation key: two accounts, or a group id.
func ParseKey(key string) (a, b string, group int64, ok bool) {
	switch {
	case strings.HasPrefix(key, "d:"):
		a, b, ok = strings.Cut(key[2:], ":")
		return a, b, 0, ok && a != "" && b != ""
	case strings.HasPrefix(key, "g:"):
		id, err := strconv.ParseInt(key[2:], 10, 64)
		return "", "", id, err == nil && id > 0
	}
	return "", "", 0, false
}

// Reader reads committed messages back by seq.
type Reader struct {
	q *store.Store
}

// NewReader returns a Reader over st.
func NewReader(st *store.Store) *Reader { return &Reader{q: st} }

// After returns up to limit rows of conv with seq above after, in seq
// order: messages and recall events, as catch-up delivers them.
func (r *Reader) After(ctx context.Context, conv string, after int64, limit int) ([]Message, error) {
	return r.after(ctx, conv, after, limit, true)
}

// after is After, leaving recall events out unless events is set.
func (r *Reader) after(ctx context.Context, conv string, after int64, limit int, events bool) ([]Message, error) {
	rows, err := r.q.MessageListAfterSeq(ctx, conv, after, events, int32(limit))
	if err != nil {
		return nil, fmt.Errorf("list messages after seq: %w", err)
	}
	out := make([]Message, len(rows))
	for i, m := range rows {
		out[i] = Message(m)
	}
	return out, nil
}

// Before returns up to limit of the newest messages of conv with seq below
// before, in seq order; messages only, no recall events.
func (r *Reader) Before(ctx context.Context, conv string, before int64, limit int) ([]Message, error) {
	rows, err := r.q.MessageListBeforeSeq(ctx, conv, before, int32(limit))
	if err != nil {
		return nil, fmt.Errorf("list messages before seq: %w", err)
	}
	out := make([]Message, len(rows))
	for i, m := range rows {
		out[len(rows)-1-i] = Message(m)
	}
	return out, nil
}

// Framed is m as the codec reads it for its frames.
func (m *Message) Framed() frame.Message {
	return frame.Message{
		ID: m.ID, Seq: m.Seq, Sender: m.Sender, Recipient: m.Recipient, GroupID: m.GroupID, Kind: m.Kind, Body: m.Body,
		ClientMsgID: m.ClientMsgID, Time: m.Time, Media: (*frame.Media)(m.Media), Recalled: m.Recalled, Recalls: m.Recalls,
	}
}

// Package messages stores messages durably: it names conversations, commits
// sends in batches with gap-free seqs, and reads messages back by seq.
package messages

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tim/gen/api"
	"tim/gen/db"
)

// Errors a send can end with, besides database errors.
var (
	// ErrForbidden: the sender is not the recipient's friend, or not a member
	// of the group. Nothing was stored.
	ErrForbidden = errors.New("forbidden")
	// ErrClosed: the committer is shutting down.
	ErrClosed = errors.New("committer closed")
)

// Kinds of message.
const (
	KindText  = "text"
	KindImage = "image"
	KindAudio = "audio"
	KindVideo = "video"
)

// ValidKind reports whether k is a message kind.
func ValidKind(k string) bool {
	switch k {
	case KindText, KindImage, KindAudio, KindVideo:
		return true
	}
	return false
}

// Message is a committed message.
type Message struct {
	ID          int64
	Conv        string
	Seq         int64
	Sender      string
	Recipient   string // direct messages only
	GroupID     int64  // group messages only
	Kind        string
	Body        string
	ClientMsgID string
	Time        time.Time
}

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

// Store reads messages.
type Store struct {
	q *db.Queries
}

// NewStore returns a Store reading from pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{q: db.New(pool)} }

// After returns up to limit messages of conv with seq above after, in seq order.
func (s *Store) After(ctx context.Context, conv string, after int64, limit int) ([]Message, error) {
	rows, err := s.q.MessageListAfterSeq(ctx, db.MessageListAfterSeqParams{Conv: conv, AfterSeq: after, MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list messages after seq: %w", err)
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = messageFromRow(r)
	}
	return out, nil
}

// Before returns up to limit of the newest messages of conv with seq below
// before, in seq order.
func (s *Store) Before(ctx context.Context, conv string, before int64, limit int) ([]Message, error) {
	rows, err := s.q.MessageListBeforeSeq(ctx, db.MessageListBeforeSeqParams{Conv: conv, BeforeSeq: before, MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list messages before seq: %w", err)
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[len(rows)-1-i] = messageFromRow(r)
	}
	return out, nil
}

func messageFromRow(r db.Message) Message {
	m := Message{Conv: r.Conv, Seq: r.Seq, Sender: r.Sender, Kind: r.Kind, Body: r.Body, Time: r.CreatedAt.Time}
	if r.ID != nil {
		m.ID = *r.ID
	}
	if r.Recipient != nil {
		m.Recipient = *r.Recipient
	}
	if r.GroupID != nil {
		m.GroupID = *r.GroupID
	}
	if r.ClientMsgID != nil {
		m.ClientMsgID = *r.ClientMsgID
	}
	return m
}

// Frame is m as the message frame clients receive.
func (m Message) Frame() api.MessageFrame {
	f := api.MessageFrame{
		Type: api.Message, Id: m.ID, Seq: m.Seq, FromUser: m.Sender,
		Message: m.Body, Kind: api.MessageKind(m.Kind), Time: m.Time,
	}
	if m.GroupID != 0 {
		gid := m.GroupID
		f.GroupId = &gid
	} else {
		to := m.Recipient
		f.To = &to
	}
	if m.ClientMsgID != "" {
		id := m.ClientMsgID
		f.ClientMsgId = &id
	}
	return f
}

// Package chat stores messages durably: it names conversations, commits
// sends in batches with gap-free seqs, and reads messages back by seq.
package chat

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
	// ErrNoMedia: a media send names no stored upload. Nothing was stored.
	ErrNoMedia = errors.New("no such media")
	// ErrWrongMedia: a media send names an upload of another kind (an MP3
	// sent as an image). Nothing was stored.
	ErrWrongMedia = errors.New("media of another kind")
)

// Kinds of message.
const (
	KindText  = "text"
	KindImage = "image"
	KindAudio = "audio"
	KindVideo = "video"
	// KindRecall is the kind of the event recalling a message: a row of
	// the conversation with a seq of its own, never sent by a client.
	KindRecall = "recall"
)

// ValidKind reports whether k is a kind of message a client sends.
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
	Media       *Media // media kinds, unless recalled
	Recalled    bool   // the sender recalled it: Body is empty, Media nil
	Recalls     int64  // KindRecall: the recalled message's id
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

// Store reads messages and recalls them.
type Store struct {
	q    *db.Queries
	pool *pgxpool.Pool
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{q: db.New(pool), pool: pool} }

// After returns up to limit rows of conv with seq above after, in seq
// order: messages and recall events, as catch-up delivers them.
func (s *Store) After(ctx context.Context, conv string, after int64, limit int) ([]Message, error) {
	return s.after(ctx, conv, after, limit, true)
}

// after is After, leaving recall events out unless events is set.
func (s *Store) after(ctx context.Context, conv string, after int64, limit int, events bool) ([]Message, error) {
	rows, err := s.q.MessageListAfterSeq(ctx, db.MessageListAfterSeqParams{Conv: conv, AfterSeq: after, Events: events, MaxRows: int32(limit)})
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
// before, in seq order; messages only, no recall events.
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
	m.Media = mediaFromColumns(r.MediaType, r.MediaSize, r.MediaWidth, r.MediaHeight)
	m.Recalled = r.Recalled
	if r.Recalls != nil {
		m.Recalls = *r.Recalls
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
	if m.Recalled {
		recalled := true
		f.Recalled = &recalled
	} else if m.Media != nil {
		f.Media = m.Media.info(m.Kind, m.Body)
	}
	return f
}

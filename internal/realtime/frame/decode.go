package frame

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"tim/gen/models"
)

// Channel is how a socket's frames are read.
type Channel int

const (
	// UserChannel: a socket of many conversations, where a send names its
	// conversation (/websocket/{useraccount}).
	UserChannel Channel = iota
	// ConversationChannel: a socket of one conversation, where a frame that
	// is no typed frame is the text of a message to it (one-to-one and
	// group sockets).
	ConversationChannel
)

// Kind says what a client frame asks for.
type Kind int

const (
	Send   Kind = iota // a message: typed send, legacy {to,text} or plain text
	Ack                // delivered up to a seq
	Sync               // replay after a seq
	Recall             // recall a message
	Read               // move the read cursor
	Typing             // a typing indicator
)

// Client is a decoded client frame. For Send, exactly one of To and
// GroupID is set unless the frame is plain text on a conversation channel
// (both empty: the socket's own conversation).
type Client struct {
	Kind        Kind
	To          string
	GroupID     int64
	Text        string
	MsgKind     string
	ClientMsgID string
	Seq         int64 // ack: delivered up to; sync: replay after; read: read up to
	ID          int64 // recall: the message
	Typed       bool  // send: a typed send frame, not plain text or {to,text}
}

// MaxGroupID is the largest group id, 2^53-1, as the contract says:
// JavaScript clients hold ids as doubles.
const MaxGroupID = 1<<53 - 1

// maxClientMsgID bounds clientMsgId, as the schema does.
const maxClientMsgID = 64

// Decode reads one text frame from a socket of channel ch; a refused frame
// is an *Error.
//
// A JSON object whose "type" is send, ack, sync, recall, read or typing is
// a typed frame on every channel. Otherwise, on the user channel the frame
// must be the original's {"to","text"}; on a conversation channel the
// whole frame is the text of a message to that conversation.
func Decode(ch Channel, data []byte) (Client, error) {
	if !utf8.Valid(data) {
		return Client{}, ErrNotUTF8
	}
	trimmed := bytes.TrimSpace(data)
	if f, ok := scanFrame(trimmed); ok {
		return fromScanned(f)
	}
	var head struct {
		Type *string `json:"type"`
	}
	isObject := len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &head) == nil
	if isObject && head.Type != nil {
		if decode, ok := typed[*head.Type]; ok {
			return decode(trimmed)
		}
		if ch == UserChannel {
			return Client{}, ErrUnknownType
		}
	}
	if ch != UserChannel {
		return textFrame(string(data))
	}
	if !isObject {
		return Client{}, ErrNotObject
	}
	return decodeLegacy(trimmed)
}

// typed decodes each type of typed frame with the strict decoder.
var typed = map[string]func([]byte) (Client, error){
	"send": func(data []byte) (Client, error) {
		return strictly(data, ErrSendFrame, sendFromFrame)
	},
	"ack": func(data []byte) (Client, error) {
		return strictly(data, ErrAckFrame, ackFromFrame)
	},
	"sync": func(data []byte) (Client, error) {
		return strictly(data, ErrSyncFrame, syncFromFrame)
	},
	"read": func(data []byte) (Client, error) {
		return strictly(data, ErrReadFrame, readFromFrame)
	},
	"typing": func(data []byte) (Client, error) {
		return strictly(data, ErrTypingFrame, typingFromFrame)
	},
	"recall": func(data []byte) (Client, error) {
		return strictly(data, ErrRecallFrame, recallFromFrame)
	},
}

// strictly decodes data as a T with the strict decoder, refusing it with
// refused, and checks it with check.
func strictly[T any](data []byte, refused *Error, check func(T) (Client, error)) (Client, error) {
	var f T
	if err := strictUnmarshal(data, &f); err != nil {
		return Client{}, refused
	}
	return check(f)
}

// fromScanned checks a frame the fast scanner read.
func fromScanned(f fastFrame) (Client, error) {
	switch f.kind {
	case Ack:
		return ackFromFrame(f.ack)
	case Read:
		return readFromFrame(f.read)
	case Typing:
		return typingFromFrame(f.typing)
	}
	return sendFromFrame(f.send)
}

// decodeLegacy reads the original's {"to","text"}.
func decodeLegacy(data []byte) (Client, error) {
	var f models.LegacySendFrame
	if err := strictUnmarshal(data, &f); err != nil || f.To == "" {
		return Client{}, ErrLegacyFrame
	}
	if !validAccount(f.To) {
		return Client{}, ErrLegacyTo
	}
	c, err := textFrame(f.Text)
	c.To = f.To
	return c, err
}

func textFrame(text string) (Client, error) {
	if strings.TrimSpace(text) == "" {
		return Client{}, ErrEmptyText
	}
	if strings.ContainsRune(text, 0) {
		return Client{}, ErrNULText
	}
	return Client{Kind: Send, Text: text, MsgKind: string(models.MessageKindText)}, nil
}

func sendFromFrame(f models.SendFrame) (Client, error) {
	to, gid, err := target(f.To, f.GroupId)
	if err != nil {
		return Client{}, err
	}
	c, err := textFrame(f.Text)
	if err != nil {
		return Client{}, err
	}
	c.To, c.GroupID, c.Typed = to, gid, true
	if f.Kind != nil {
		if !f.Kind.Valid() {
			return Client{}, ErrKind
		}
		c.MsgKind = string(*f.Kind)
	}
	if f.ClientMsgId != nil {
		id := *f.ClientMsgId
		if id == "" || len(id) > maxClientMsgID || strings.ContainsRune(id, 0) {
			return Client{}, ErrClientMsgID
		}
		c.ClientMsgID = id
	}
	return c, nil
}

func ackFromFrame(f models.AckClientFrame) (Client, error) {
	to, gid, err := target(f.With, f.GroupId)
	if err != nil {
		return Client{}, err
	}
	if f.Seq < 0 {
		return Client{}, ErrNegativeSeq
	}
	return Client{Kind: Ack, To: to, GroupID: gid, Seq: f.Seq}, nil
}

func syncFromFrame(f models.SyncFrame) (Client, error) {
	to, gid, err := target(f.With, f.GroupId)
	if err != nil {
		return Client{}, err
	}
	if f.AfterSeq < 0 {
		return Client{}, ErrNegativeAfter
	}
	return Client{Kind: Sync, To: to, GroupID: gid, Seq: f.AfterSeq}, nil
}

func readFromFrame(f models.ReadFrame) (Client, error) {
	to, gid, err := target(f.With, f.GroupId)
	if err != nil {
		return Client{}, err
	}
	if f.Seq < 1 {
		return Client{}, ErrSeqNotPositive
	}
	return Client{Kind: Read, To: to, GroupID: gid, Seq: f.Seq}, nil
}

func typingFromFrame(f models.TypingClientFrame) (Client, error) {
	to, gid, err := target(f.With, f.GroupId)
	if err != nil {
		return Client{}, err
	}
	return Client{Kind: Typing, To: to, GroupID: gid}, nil
}

func recallFromFrame(f models.RecallClientFrame) (Client, error) {
	if f.Id < 1 {
		return Client{}, ErrIDNotPositive
	}
	return Client{Kind: Recall, ID: f.Id}, nil
}

// target checks that exactly one of an account and a group id is given.
func target(with *string, groupID *int64) (string, int64, error) {
	switch {
	case with != nil && groupID == nil:
		if !validAccount(*with) {
			return "", 0, ErrAccount
		}
		return *with, 0, nil
	case with == nil && groupID != nil:
		if *groupID < 1 || *groupID > MaxGroupID {
			return "", 0, ErrGroupID
		}
		return "", *groupID, nil
	}
	return "", 0, ErrNoTarget
}

// validAccount mirrors the users.account check.
func validAccount(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '@', r == '-':
		default:
			return false
		}
	}
	return true
}

// strictUnmarshal decodes one JSON object, refusing unknown fields and
// trailing data.
func strictUnmarshal(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

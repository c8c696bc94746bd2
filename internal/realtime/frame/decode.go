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
		return Client{}, badFrame("消息不是有效的UTF-8文本")
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
			return Client{}, badFrame("未知的帧类型")
		}
	}
	if ch != UserChannel {
		return textFrame(string(data))
	}
	if !isObject {
		return Client{}, badFrame("帧必须是JSON对象")
	}
	return decodeLegacy(trimmed)
}

// typed decodes each type of typed frame with the strict decoder.
var typed = map[string]func([]byte) (Client, error){
	"send": func(data []byte) (Client, error) {
		return strictly(data, "send帧格式错误", sendFromFrame)
	},
	"ack": func(data []byte) (Client, error) {
		return strictly(data, "ack帧格式错误", ackFromFrame)
	},
	"sync": func(data []byte) (Client, error) {
		return strictly(data, "sync帧格式错误", syncFromFrame)
	},
	"read": func(data []byte) (Client, error) {
		return strictly(data, "read帧格式错误", readFromFrame)
	},
	"typing": func(data []byte) (Client, error) {
		return strictly(data, "typing帧格式错误", typingFromFrame)
	},
	"recall": func(data []byte) (Client, error) {
		return strictly(data, "recall帧格式错误", recallFromFrame)
	},
}

// strictly decodes data as a T with the strict decoder, refusing it with
// msg, and checks it with check.
func strictly[T any](data []byte, msg string, check func(T) (Client, error)) (Client, error) {
	var f T
	if err := strictUnmarshal(data, &f); err != nil {
		return Client{}, badFrame(msg)
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
		return Client{}, badFrame("消息帧需要to和text")
	}
	if !validAccount(f.To) {
		return Client{}, badFrame("to不是有效的账号")
	}
	c, err := textFrame(f.Text)
	c.To = f.To
	return c, err
}

func textFrame(text string) (Client, error) {
	if strings.TrimSpace(text) == "" {
		return Client{}, badFrame("消息不能为空")
	}
	if strings.ContainsRune(text, 0) {
		return Client{}, badFrame("消息不能包含NUL字符")
	}
	return Client{Kind: Send, Text: text, MsgKind: string(models.Text)}, nil
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
			return Client{}, badFrame("kind必须是text、image、audio或video")
		}
		c.MsgKind = string(*f.Kind)
	}
	if f.ClientMsgId != nil {
		id := *f.ClientMsgId
		if id == "" || len(id) > maxClientMsgID || strings.ContainsRune(id, 0) {
			return Client{}, badFrame("clientMsgId长度必须在1到64之间")
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
		return Client{}, badFrame("seq不能为负")
	}
	return Client{Kind: Ack, To: to, GroupID: gid, Seq: f.Seq}, nil
}

func syncFromFrame(f models.SyncFrame) (Client, error) {
	to, gid, err := target(f.With, f.GroupId)
	if err != nil {
		return Client{}, err
	}
	if f.AfterSeq < 0 {
		return Client{}, badFrame("afterSeq不能为负")
	}
	return Client{Kind: Sync, To: to, GroupID: gid, Seq: f.AfterSeq}, nil
}

func readFromFrame(f models.ReadFrame) (Client, error) {
	to, gid, err := target(f.With, f.GroupId)
	if err != nil {
		return Client{}, err
	}
	if f.Seq < 1 {
		return Client{}, badFrame("seq必须是正整数")
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
		return Client{}, badFrame("id必须是正整数")
	}
	return Client{Kind: Recall, ID: f.Id}, nil
}

// target checks that exactly one of an account and a group id is given.
func target(with *string, groupID *int64) (string, int64, error) {
	switch {
	case with != nil && groupID == nil:
		if !validAccount(*with) {
			return "", 0, badFrame("账号格式错误")
		}
		return *with, 0, nil
	case with == nil && groupID != nil:
		if *groupID < 1 || *groupID > MaxGroupID {
			return "", 0, badFrame("groupId必须是1到9007199254740991之间的整数")
		}
		return "", *groupID, nil
	}
	return "", 0, badFrame("需要账号或groupId之一")
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

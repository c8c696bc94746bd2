package realtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"tim/gen/models"
	"tim/internal/messages"
)

// channel is the kind of WebSocket a client opened.
type channel int

const (
	channelUser   channel = iota // /websocket/{useraccount}
	channelDirect                // /websocket/OneToOne/{useraccount}/{friendaccount}
	channelGroup                 // /websocket/{GroupID}/{UserAccount}
)

func (c channel) String() string {
	switch c {
	case channelUser:
		return "user"
	case channelDirect:
		return "direct"
	default:
		return "group"
	}
}

// frameKind says what a client frame asks for.
type frameKind int

const (
	frameSend frameKind = iota // a message: typed send, legacy {to,text} or plain text
	frameAck
	frameSync
	frameRecall
	frameRead   // moves the read cursor (receipts.go)
	frameTyping // a typing indicator (typing.go)
)

// clientFrame is a decoded client frame. For frameSend, exactly one of To
// and GroupID is set unless the frame is plain text on a one-conversation
// socket (both empty: the socket's own conversation).
type clientFrame struct {
	kind        frameKind
	to          string
	groupID     int64
	text        string
	msgKind     string
	clientMsgID string
	seq         int64 // ack: delivered up to; sync: replay after; read: read up to
	id          int64 // recall: the message
	typed       bool  // send: a typed send frame, not plain text or {to,text}
}

// frameError is a refused client frame; code follows HTTP (400, 403, 429).
type frameError struct {
	code    int32
	message string
}

func (e *frameError) Error() string { return e.message }

func badFrame(msg string) *frameError { return &frameError{code: 400, message: msg} }

// maxGroupID is the largest group id, 2^53-1, as the contract says:
// JavaScript clients hold ids as doubles.
const maxGroupID = 1<<53 - 1

// maxClientMsgID bounds clientMsgId, as the schema does.
const maxClientMsgID = 64

// decodeClientFrame reads one text frame from a socket of channel ch.
//
// A JSON object whose "type" is send, ack, sync, recall, read or typing is
// a typed frame on every channel. Otherwise, on the user channel the frame
// must be the original's {"to","text"}; on one-conversation channels the
// whole frame is the text of a message to that conversation.
func decodeClientFrame(ch channel, data []byte) (clientFrame, error) {
	if !utf8.Valid(data) {
		return clientFrame{}, badFrame("消息不是有效的UTF-8文本")
	}
	trimmed := bytes.TrimSpace(data)
	if f, ok := scanFrame(trimmed); ok {
		switch f.kind {
		case frameAck:
			return ackFromFrame(f.ack)
		case frameRead:
			return readFromFrame(f.read)
		case frameTyping:
			return typingFromFrame(f.typing)
		}
		return sendFromFrame(f.send)
	}
	var head struct {
		Type *string `json:"type"`
	}
	isObject := len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &head) == nil
	if isObject && head.Type != nil {
		switch *head.Type {
		case "send":
			var f models.SendFrame
			if err := strictUnmarshal(trimmed, &f); err != nil {
				return clientFrame{}, badFrame("send帧格式错误")
			}
			return sendFromFrame(f)
		case "ack":
			var f models.AckClientFrame
			if err := strictUnmarshal(trimmed, &f); err != nil {
				return clientFrame{}, badFrame("ack帧格式错误")
			}
			return ackFromFrame(f)
		case "sync":
			var f models.SyncFrame
			if err := strictUnmarshal(trimmed, &f); err != nil {
				return clientFrame{}, badFrame("sync帧格式错误")
			}
			to, gid, err := target(f.With, f.GroupId)
			if err != nil {
				return clientFrame{}, err
			}
			if f.AfterSeq < 0 {
				return clientFrame{}, badFrame("afterSeq不能为负")
			}
			return clientFrame{kind: frameSync, to: to, groupID: gid, seq: f.AfterSeq}, nil
		case "read":
			return decodeRead(trimmed)
		case "typing":
			return decodeTyping(trimmed)
		case "recall":
			return recallFromFrame(trimmed)
		}
		if ch == channelUser {
			return clientFrame{}, badFrame("未知的帧类型")
		}
	}
	if ch != channelUser {
		return textFrame(string(data))
	}
	if !isObject {
		return clientFrame{}, badFrame("帧必须是JSON对象")
	}
	var f models.LegacySendFrame
	if err := strictUnmarshal(trimmed, &f); err != nil || f.To == "" {
		return clientFrame{}, badFrame("消息帧需要to和text")
	}
	if !validAccount(f.To) {
		return clientFrame{}, badFrame("to不是有效的账号")
	}
	c, err := textFrame(f.Text)
	c.to = f.To
	return c, err
}

func textFrame(text string) (clientFrame, error) {
	if strings.TrimSpace(text) == "" {
		return clientFrame{}, badFrame("消息不能为空")
	}
	if strings.ContainsRune(text, 0) {
		return clientFrame{}, badFrame("消息不能包含NUL字符")
	}
	return clientFrame{kind: frameSend, text: text, msgKind: messages.KindText}, nil
}

func sendFromFrame(f models.SendFrame) (clientFrame, error) {
	to, gid, err := target(f.To, f.GroupId)
	if err != nil {
		return clientFrame{}, err
	}
	c, err := textFrame(f.Text)
	if err != nil {
		return clientFrame{}, err
	}
	c.to, c.groupID, c.typed = to, gid, true
	if f.Kind != nil {
		if !messages.ValidKind(string(*f.Kind)) {
			return clientFrame{}, badFrame("kind必须是text、image、audio或video")
		}
		c.msgKind = string(*f.Kind)
	}
	if f.ClientMsgId != nil {
		id := *f.ClientMsgId
		if id == "" || len(id) > maxClientMsgID || strings.ContainsRune(id, 0) {
			return clientFrame{}, badFrame("clientMsgId长度必须在1到64之间")
		}
		c.clientMsgID = id
	}
	return c, nil
}

func ackFromFrame(f models.AckClientFrame) (clientFrame, error) {
	to, gid, err := target(f.With, f.GroupId)
	if err != nil {
		return clientFrame{}, err
	}
	if f.Seq < 0 {
		return clientFrame{}, badFrame("seq不能为负")
	}
	return clientFrame{kind: frameAck, to: to, groupID: gid, seq: f.Seq}, nil
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
		if *groupID < 1 || *groupID > maxGroupID {
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

package frame

import (
	"strings"
	"time"

	"tim/gen/models"
)

// The server's other frames: rare enough to go through encoding/json.

// EncodeError is an error frame; clientMsgID names the refused send, if it
// had one.
func EncodeError(code int32, message, clientMsgID string) []byte {
	f := models.ErrorFrame{Type: "error", Code: code, Message: message}
	if clientMsgID != "" {
		f.ClientMsgId = &clientMsgID
	}
	return mustJSON(f)
}

// EncodeMutedError is the error frame of a send refused because its
// sender is muted in the group until until (zero: the whole group is
// muted).
func EncodeMutedError(code int32, message, clientMsgID string, until time.Time) []byte {
	f := models.ErrorFrame{Type: "error", Code: code, Message: message}
	if clientMsgID != "" {
		f.ClientMsgId = &clientMsgID
	}
	if !until.IsZero() {
		u := until.UTC()
		f.MutedUntil = &u
	}
	return mustJSON(f)
}

// EncodeRecallError is the error frame of a refused recall of message id.
func EncodeRecallError(code int32, message string, id int64) []byte {
	return mustJSON(models.ErrorFrame{Type: "error", Code: code, Message: message, Id: &id})
}

// EncodeConnected is the first frame of every socket.
func EncodeConnected() []byte {
	return mustJSON(models.ConnectedFrame{Type: models.ConnectedFrameTypeConnected, Code: 200, Message: "连接成功"})
}

// EncodeUsers lists the friends online, for a user socket that opened.
func EncodeUsers(users []models.OnlineUser) []byte {
	return mustJSON(models.UsersFrame{Type: models.UsersFrameTypeUsers, Users: users})
}

// EncodePresence says that a friend came online or went offline.
func EncodePresence(account string, online bool) []byte {
	return mustJSON(models.PresenceFrame{Type: "presence", Account: account, Online: online})
}

// EncodeGroupPresence says that a member of group opened or closed a group
// socket.
func EncodeGroupPresence(group int64, account, username string, online bool) []byte {
	verb := "下线"
	if online {
		verb = "上线"
	}
	return mustJSON(models.GroupPresenceFrame{
		Type: "group.presence", GroupId: group, Account: account, Username: username, Online: online, Text: "用户" + username + verb,
	})
}

// EncodeGroupOnline lists the members of group with a group socket open.
func EncodeGroupOnline(group int64, users []models.OnlineUser) []byte {
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Username
	}
	return mustJSON(models.GroupOnlineFrame{Type: "group.online", GroupId: group, Users: users, Text: "当前群在线用户列表：[" + strings.Join(names, ", ") + "]"})
}

// EncodeTyping says that from is typing: in group when it is not 0, else
// to the account that receives the frame.
func EncodeTyping(from string, group int64) []byte {
	f := models.TypingFrame{Type: models.TypingFrameTypeTyping, From: from}
	if group != 0 {
		f.GroupId = &group
	} else {
		f.With = &from
	}
	return mustJSON(f)
}

// Receipt is a read cursor that moved: Reader read up to Seq in the direct
// conversation with With, or in group GroupID.
type Receipt struct {
	Reader  string
	With    string // direct
	GroupID int64  // group
	Seq     int64
	Time    time.Time
}

// ReceiptOf is r as the sockets of account see it: with names the other
// party of a direct conversation from account's side.
func ReceiptOf(r Receipt, account string) models.ReceiptFrame {
	f := models.ReceiptFrame{Type: models.ReceiptFrameTypeReceipt, Reader: r.Reader, Seq: r.Seq, Time: r.Time}
	if r.GroupID != 0 {
		gid := r.GroupID
		f.GroupId = &gid
		return f
	}
	with := r.With
	if account != r.Reader {
		with = r.Reader
	}
	f.With = &with
	return f
}

// EncodeReceipt is r's receipt frame for the sockets of account.
func EncodeReceipt(r Receipt, account string) []byte { return mustJSON(ReceiptOf(r, account)) }

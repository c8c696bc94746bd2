package frame

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// The message and ack frames are most of what Tim writes, so they are
// appended by hand rather than through encoding/json's reflection. The
// bytes are exactly those of json.Marshal of the generated frame types
// (same field order, escaping and time format); a test and a fuzz target
// hold them to it. Anything unusual (media, a recalled message, a string
// that needs escaping) goes through json.Marshal itself.

// EncodeMessage is m's message frame, its recall frame if m is a recall
// event, or its event frame if m is a group event.
func EncodeMessage(m Message) []byte {
	return AppendMessage(make([]byte, 0, 192+len(m.Body)), &m)
}

// EncodeAck is the ack of m, for the socket that sent it.
func EncodeAck(m Message) []byte {
	return AppendAck(make([]byte, 0, 128), &m)
}

// AppendMessage appends m's message frame, recall frame or event frame to
// b.
func AppendMessage(b []byte, m *Message) []byte {
	switch m.Kind {
	case RecallEvent:
		return append(b, mustJSON(RecallOf(*m))...)
	case GroupEventKind:
		return append(b, EncodeEvent(*m)...)
	}
	if m.Recalled || m.Media != nil || !jsonTime(m.Time) {
		return append(b, mustJSON(MessageOf(*m))...)
	}
	b = append(b, '{')
	if m.ClientMsgID != "" {
		b = append(b, `"clientMsgId":`...)
		b = appendJSONString(b, m.ClientMsgID)
		b = append(b, ',')
	}
	b = append(b, `"fromUser":`...)
	b = appendJSONString(b, m.Sender)
	if m.GroupID != 0 {
		b = append(b, `,"groupId":`...)
		b = strconv.AppendInt(b, m.GroupID, 10)
	}
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, m.ID, 10)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, m.Kind)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, m.Body)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, m.Seq, 10)
	b = append(b, `,"time":"`...)
	b = m.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if m.GroupID == 0 {
		b = append(b, `,"to":`...)
		b = appendJSONString(b, m.Recipient)
	}
	return append(b, `,"type":"message"}`...)
}

// AppendAck appends the ack of m to b.
func AppendAck(b []byte, m *Message) []byte {
	if m.Media != nil || !jsonTime(m.Time) {
		return append(b, mustJSON(AckOf(*m))...)
	}
	b = append(b, '{')
	if m.ClientMsgID != "" {
		b = append(b, `"clientMsgId":`...)
		b = appendJSONString(b, m.ClientMsgID)
		b = append(b, ',')
	}
	if m.GroupID != 0 {
		b = append(b, `"groupId":`...)
		b = strconv.AppendInt(b, m.GroupID, 10)
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b = strconv.AppendInt(b, m.ID, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, m.Seq, 10)
	b = append(b, `,"time":"`...)
	b = m.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if m.GroupID == 0 {
		b = append(b, `,"to":`...)
		b = appendJSONString(b, m.Recipient)
	}
	return append(b, `,"type":"ack"}`...)
}

// jsonTime reports whether t's year is one that time.Time's MarshalJSON
// accepts (it fails outside 0 to 9999).
func jsonTime(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y <= 9999
}

// appendJSONString appends s as a JSON string, as json.Marshal writes it.
// Plain text (printable ASCII and valid UTF-8, without quotes, backslashes,
// the HTML characters json.Marshal escapes, or U+2028/U+2029) is copied;
// anything else is left to json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return appendMarshaled(b, s)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return appendMarshaled(b, s)
		}
		i += n
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendMarshaled(b []byte, s string) []byte {
	out, _ := json.Marshal(s) // a string always encodes
	return append(b, out...)
}

package frame

import (
	"tim/gen/models"
)

// The send, ack, read and typing frames are most of what clients write.
// scanFrame reads the common shape of them, a flat object of known keys in
// lower case with unescaped strings and plain integers, without
// encoding/json's reflection. Whatever it does not recognise (an escape, a
// null, a duplicate or unknown key, a number with a fraction or exponent,
// any other type of frame) it leaves to the strict decoder, so it never
// accepts what that refuses, and decodes what it accepts exactly as that
// does: a fuzz target holds it to both.
//
// One string holds the frame; the strings read are slices of it (one
// allocation, not one per key and value), and the optional fields the
// frame points to share one more.

// fastFrame is a send, ack, read or typing frame read by scanFrame.
type fastFrame struct {
	send   models.SendFrame
	ack    models.AckClientFrame
	read   models.ReadFrame
	typing models.TypingClientFrame
	kind   Kind
}

// scanFrame reads data as a send, ack, read or typing frame; ok is false
// when the strict decoder must decide.
func scanFrame(data []byte) (f fastFrame, ok bool) {
	fs, ok := scanFields(data)
	if !ok || !fs.has(keyType) {
		return f, false
	}
	switch string(fs.typ) { // compared without a copy
	case "send":
		return fs.send(data)
	case "ack":
		return fs.cursor(data, Ack)
	case "read":
		return fs.cursor(data, Read)
	case "typing":
		return fs.typing(data)
	}
	return f, false
}

// The keys a fast frame may have, one bit each.
const (
	keyType uint8 = 1 << iota
	keyTo
	keyText
	keyKind
	keyClientMsgID
	keyWith
	keyGroupID
	keySeq
)

// fields are the keys of a frame that scanFields read, and their values:
// the strings as spans of the frame.
type fields struct {
	seen                              uint8 // the keys read
	typ                               []byte
	to, text, kind, with, clientMsgID span
	groupID, seq                      int64
}

// has reports whether the frame has every one of keys.
func (fs *fields) has(keys uint8) bool { return fs.seen&keys == keys }

// hasAny reports whether the frame has any one of keys.
func (fs *fields) hasAny(keys uint8) bool { return fs.seen&keys != 0 }

// scanFields reads data as a flat JSON object of known keys.
func scanFields(data []byte) (fs fields, ok bool) {
	p := scanner{data: data}
	p.space()
	if !p.byte('{') {
		return fs, false
	}
	p.space()
	if p.byte('}') {
		return fs, false
	}
	for {
		p.space()
		key, ok := p.raw()
		if !ok {
			return fs, false
		}
		p.space()
		if !p.byte(':') {
			return fs, false
		}
		p.space()
		if !fs.value(&p, key) {
			return fs, false
		}
		p.space()
		if p.byte('}') {
			break
		}
		if !p.byte(',') {
			return fs, false
		}
	}
	p.space()
	return fs, p.end()
}

// value reads the value of key from p; it refuses an unknown or repeated
// key, and a value of the wrong shape.
func (fs *fields) value(p *scanner, key []byte) bool {
	var (
		bit uint8
		ok  bool
	)
	switch string(key) { // compared without a copy
	case "type":
		bit = keyType
		fs.typ, ok = p.raw()
	case "to":
		bit = keyTo
		fs.to, ok = p.span()
	case "text":
		bit = keyText
		fs.text, ok = p.span()
	case "kind":
		bit = keyKind
		fs.kind, ok = p.span()
	case "clientMsgId":
		bit = keyClientMsgID
		fs.clientMsgID, ok = p.span()
	case "with":
		bit = keyWith
		fs.with, ok = p.span()
	case "groupId":
		bit = keyGroupID
		fs.groupID, ok = p.int()
	case "seq":
		bit = keySeq
		fs.seq, ok = p.int()
	default:
		return false
	}
	if !ok || fs.hasAny(bit) {
		return false
	}
	fs.seen |= bit
	return true
}

// send makes the send frame that data, read into fs, is.
func (fs *fields) send(data []byte) (f fastFrame, ok bool) {
	if fs.hasAny(keyWith|keySeq) || !fs.has(keyText) {
		return f, false
	}
	src := string(data)
	f.kind, f.send = Send, models.SendFrame{Type: models.SendFrameTypeSend, Text: src[fs.text.start:fs.text.end]}
	if !fs.hasAny(keyTo | keyGroupID | keyKind | keyClientMsgID) {
		return f, true
	}
	o := &sendOptional{
		to: src[fs.to.start:fs.to.end], groupID: fs.groupID,
		kind: models.MessageKind(src[fs.kind.start:fs.kind.end]), clientMsgID: src[fs.clientMsgID.start:fs.clientMsgID.end],
	}
	if fs.has(keyTo) {
		f.send.To = &o.to
	}
	if fs.has(keyGroupID) {
		f.send.GroupId = &o.groupID
	}
	if fs.has(keyKind) {
		f.send.Kind = &o.kind
	}
	if fs.has(keyClientMsgID) {
		f.send.ClientMsgId = &o.clientMsgID
	}
	return f, true
}

// cursor makes the ack or read frame (kind) that data, read into fs, is.
func (fs *fields) cursor(data []byte, kind Kind) (f fastFrame, ok bool) {
	if fs.hasAny(keyTo|keyText|keyKind|keyClientMsgID) || !fs.has(keySeq) {
		return f, false
	}
	with, group := fs.conversation(data)
	f.kind = kind
	if kind == Ack {
		f.ack = models.AckClientFrame{Type: models.AckClientFrameTypeAck, Seq: fs.seq, With: with, GroupId: group}
	} else {
		f.read = models.ReadFrame{Type: models.ReadFrameTypeRead, Seq: fs.seq, With: with, GroupId: group}
	}
	return f, true
}

// typing makes the typing frame that data, read into fs, is.
func (fs *fields) typing(data []byte) (f fastFrame, ok bool) {
	if fs.hasAny(keyTo | keyText | keyKind | keyClientMsgID | keySeq) {
		return f, false
	}
	with, group := fs.conversation(data)
	f.kind, f.typing = Typing, models.TypingClientFrame{Type: models.TypingClientFrameTypeTyping, With: with, GroupId: group}
	return f, true
}

// conversation points to the with and groupId that data, read into fs,
// has, in one allocation.
func (fs *fields) conversation(data []byte) (with *string, group *int64) {
	if !fs.hasAny(keyWith | keyGroupID) {
		return nil, nil
	}
	o := &conversationOptional{with: string(data[fs.with.start:fs.with.end]), groupID: fs.groupID}
	if fs.has(keyWith) {
		with = &o.with
	}
	if fs.has(keyGroupID) {
		group = &o.groupID
	}
	return with, group
}

// sendOptional holds the optional fields of a send frame that scanFrame
// points to, in one allocation.
type sendOptional struct {
	to, clientMsgID string
	kind            models.MessageKind
	groupID         int64
}

// conversationOptional holds the conversation an ack, read or typing frame
// names, for scanFrame to point to.
type conversationOptional struct {
	with    string
	groupID int64
}

// span is the bytes [start, end) of the frame.
type span struct{ start, end int }

// scanner reads JSON tokens from data.
type scanner struct {
	data []byte
	i    int
}

func (p *scanner) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *scanner) byte(c byte) bool {
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *scanner) end() bool { return p.i == len(p.data) }

// raw reads a string without escapes or control characters (the caller
// has checked that data is valid UTF-8) and returns its bytes, in data.
func (p *scanner) raw() ([]byte, bool) {
	s, ok := p.span()
	if !ok {
		return nil, false
	}
	return p.data[s.start:s.end], true
}

// span reads a string as raw does and returns where its bytes are.
func (p *scanner) span() (span, bool) {
	if !p.byte('"') {
		return span{}, false
	}
	start := p.i
	for p.i < len(p.data) {
		switch c := p.data[p.i]; {
		case c == '"':
			s := span{start, p.i}
			p.i++
			return s, true
		case c == '\\' || c < 0x20:
			return span{}, false
		}
		p.i++
	}
	return span{}, false
}

// int reads an integer of at most 18 digits, without sign, fraction or
// exponent, as JSON writes it (no leading zero).
func (p *scanner) int() (int64, bool) {
	start := p.i
	var n int64
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		n = n*10 + int64(p.data[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 18 || (digits > 1 && p.data[start] == '0') {
		return 0, false
	}
	if p.i < len(p.data) {
		switch p.data[p.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	return n, true
}

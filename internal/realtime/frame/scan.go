package frame

import (
	"tim/gen/models"
)

// The send, ack, read and typing frames are most of what clients write.
// fastFrame reads the common shape of them, a flat object of known keys in lower case with
// unescaped strings and plain integers, without encoding/json's reflection.
// Whatever it does not recognise (an escape, a null, a duplicate or unknown
// key, a number with a fraction or exponent, any other type of frame) it
// leaves to the strict decoder, so it never accepts what that refuses, and
// decodes what it accepts exactly as that does: a fuzz target holds it to
// both.

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
	// One string holds the frame; the strings read are slices of it (one
	// allocation, not one per key and value), and the optional fields the
	// frame points to share one more.
	p := scanner{data: data}
	p.space()
	if !p.byte('{') {
		return f, false
	}
	var (
		typ                                     []byte
		seen                                    uint8
		to, text, kind, with, clientMsgID       span
		groupID, seq                            int64
		hasTo, hasText, hasKind, hasID, hasWith bool
		hasGroup, hasSeq                        bool
	)
	p.space()
	if p.byte('}') {
		return f, false
	}
	for {
		p.space()
		key, ok := p.raw()
		if !ok {
			return f, false
		}
		p.space()
		if !p.byte(':') {
			return f, false
		}
		p.space()
		var bit uint8
		switch string(key) { // compared without a copy
		case "type":
			bit = 1
			typ, ok = p.raw()
		case "to":
			bit, hasTo = 2, true
			to, ok = p.span()
		case "text":
			bit, hasText = 4, true
			text, ok = p.span()
		case "kind":
			bit, hasKind = 8, true
			kind, ok = p.span()
		case "clientMsgId":
			bit, hasID = 16, true
			clientMsgID, ok = p.span()
		case "with":
			bit, hasWith = 32, true
			with, ok = p.span()
		case "groupId":
			bit, hasGroup = 64, true
			groupID, ok = p.int()
		case "seq":
			bit, hasSeq = 128, true
			seq, ok = p.int()
		default:
			return f, false
		}
		if !ok || seen&bit != 0 {
			return f, false
		}
		seen |= bit
		p.space()
		if p.byte('}') {
			break
		}
		if !p.byte(',') {
			return f, false
		}
	}
	p.space()
	if !p.end() || seen&1 == 0 {
		return f, false
	}
	var src string // data as a string, made once the frame is known to be one of ours
	str := func(s span) string { return src[s.start:s.end] }
	switch string(typ) {
	case "send":
		if hasWith || hasSeq || !hasText {
			return f, false
		}
		src = string(data)
		f.kind, f.send = Send, models.SendFrame{Type: models.Send, Text: str(text)}
		if hasTo || hasGroup || hasKind || hasID {
			o := &sendOptional{to: str(to), groupID: groupID, kind: models.MessageKind(str(kind)), clientMsgID: str(clientMsgID)}
			if hasTo {
				f.send.To = &o.to
			}
			if hasGroup {
				f.send.GroupId = &o.groupID
			}
			if hasKind {
				f.send.Kind = &o.kind
			}
			if hasID {
				f.send.ClientMsgId = &o.clientMsgID
			}
		}
		return f, true
	case "ack", "read":
		if hasTo || hasText || hasKind || hasID || !hasSeq {
			return f, false
		}
		var w *string
		var g *int64
		if hasWith || hasGroup {
			src = string(data)
			o := &conversationOptional{with: str(with), groupID: groupID}
			if hasWith {
				w = &o.with
			}
			if hasGroup {
				g = &o.groupID
			}
		}
		if string(typ) == "ack" {
			f.kind, f.ack = Ack, models.AckClientFrame{Type: models.AckClientFrameTypeAck, Seq: seq, With: w, GroupId: g}
		} else {
			f.kind, f.read = Read, models.ReadFrame{Type: models.Read, Seq: seq, With: w, GroupId: g}
		}
		return f, true
	case "typing":
		if hasTo || hasText || hasKind || hasID || hasSeq {
			return f, false
		}
		f.kind, f.typing = Typing, models.TypingClientFrame{Type: models.TypingClientFrameTypeTyping}
		if hasWith || hasGroup {
			src = string(data)
			o := &conversationOptional{with: str(with), groupID: groupID}
			if hasWith {
				f.typing.With = &o.with
			}
			if hasGroup {
				f.typing.GroupId = &o.groupID
			}
		}
		return f, true
	}
	return f, false
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

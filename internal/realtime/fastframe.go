package realtime

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
	kind   frameKind
}

// scanFrame reads data as a send, ack, read or typing frame; ok is false
// when the strict decoder must decide.
func scanFrame(data []byte) (f fastFrame, ok bool) {
	p := scanner{data: data}
	p.space()
	if !p.byte('{') {
		return f, false
	}
	var (
		typ                                     string
		seen                                    uint8
		to, text, kind, clientMsgID, with       string
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
		key, ok := p.str()
		if !ok {
			return f, false
		}
		p.space()
		if !p.byte(':') {
			return f, false
		}
		p.space()
		var bit uint8
		switch key {
		case "type":
			bit = 1
			typ, ok = p.str()
		case "to":
			bit, hasTo = 2, true
			to, ok = p.str()
		case "text":
			bit, hasText = 4, true
			text, ok = p.str()
		case "kind":
			bit, hasKind = 8, true
			kind, ok = p.str()
		case "clientMsgId":
			bit, hasID = 16, true
			clientMsgID, ok = p.str()
		case "with":
			bit, hasWith = 32, true
			with, ok = p.str()
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
	switch typ {
	case "send":
		if hasWith || hasSeq || !hasText {
			return f, false
		}
		f.kind, f.send = frameSend, models.SendFrame{Type: models.SendFrameType(typ), Text: text}
		if hasTo {
			f.send.To = &to
		}
		if hasGroup {
			f.send.GroupId = &groupID
		}
		if hasKind {
			k := models.MessageKind(kind)
			f.send.Kind = &k
		}
		if hasID {
			f.send.ClientMsgId = &clientMsgID
		}
		return f, true
	case "ack", "read":
		if hasTo || hasText || hasKind || hasID || !hasSeq {
			return f, false
		}
		var w *string
		var g *int64
		if hasWith {
			w = &with
		}
		if hasGroup {
			g = &groupID
		}
		if typ == "ack" {
			f.kind, f.ack = frameAck, models.AckClientFrame{Type: models.AckClientFrameType(typ), Seq: seq, With: w, GroupId: g}
		} else {
			f.kind, f.read = frameRead, models.ReadFrame{Type: models.ReadFrameType(typ), Seq: seq, With: w, GroupId: g}
		}
		return f, true
	case "typing":
		if hasTo || hasText || hasKind || hasID || hasSeq {
			return f, false
		}
		f.kind, f.typing = frameTyping, models.TypingClientFrame{Type: models.TypingClientFrameType(typ)}
		if hasWith {
			f.typing.With = &with
		}
		if hasGroup {
			f.typing.GroupId = &groupID
		}
		return f, true
	}
	return f, false
}

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

// str reads a string without escapes or control characters (the caller
// has checked that data is valid UTF-8).
func (p *scanner) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.data) {
		switch c := p.data[p.i]; {
		case c == '"':
			s := string(p.data[start:p.i])
			p.i++
			return s, true
		case c == '\\' || c < 0x20:
			return "", false
		}
		p.i++
	}
	return "", false
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

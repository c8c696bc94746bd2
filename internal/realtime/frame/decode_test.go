package frame

import (
	"strings"
	"testing"
)

// FuzzDecodeClientFrame checks that no input crashes the decoder and that
// an accepted frame is well formed.
func FuzzDecodeClientFrame(f *testing.F) {
	for _, seed := range []string{
		`{"to":"b","text":"hi"}`, `{"type":"send","to":"b","text":"hi","kind":"image","clientMsgId":"1"}`,
		`{"type":"send","groupId":1,"text":"hi"}`, `{"type":"ack","with":"b","seq":3}`, `{"type":"sync","groupId":2,"afterSeq":0}`, `{"type":"recall","id":7}`,
		`{"type":"read","with":"b","seq":3}`, `{"type":"typing","groupId":2}`,
		`plain text`, `{"type":"bogus"}`, `{`, "\x00", `{"type":"send","to":"b","groupId":1,"text":"x"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, ch := range []Channel{UserChannel, ConversationChannel} {
			c, err := Decode(ch, []byte(in))
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error %T is not a frame error", err)
				}
				continue
			}
			if problem := illFormed(ch, c); problem != "" {
				t.Fatalf("%s: %+v from %q", problem, c, in)
			}
		}
	})
}

// illFormed says what is wrong with c, decoded from a frame of a socket of
// channel ch, or "".
func illFormed(ch Channel, c Client) string {
	oneTarget := (c.To == "") != (c.GroupID == 0)
	switch c.Kind {
	case Send:
		if strings.TrimSpace(c.Text) == "" || (c.To != "" && c.GroupID != 0) {
			return "bad send"
		}
		if ch == UserChannel && c.To == "" && c.GroupID == 0 {
			return "user-channel send without target"
		}
	case Ack, Sync:
		if !oneTarget || c.Seq < 0 {
			return "bad ack or sync"
		}
	case Read:
		if !oneTarget || c.Seq < 1 {
			return "bad read"
		}
	case Typing:
		if !oneTarget {
			return "bad typing"
		}
	case Recall:
		if c.ID < 1 {
			return "bad recall"
		}
	}
	return ""
}

package realtime

import (
	"bytes"
	"errors"
	"testing"
)

// decodeAll decodes a batch into a slice.
func decodeAll(b []byte) ([]wireMessage, error) {
	var out []wireMessage
	err := decodeWireMessages(b, func(w *wireMessage) { out = append(out, *w) })
	return out, err
}

// sameMessages reports whether a and b hold the same messages; a nil and
// an empty frame are the same.
func sameMessages(a, b []wireMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		g, w := a[i], b[i]
		if g.Conv != w.Conv || g.Seq != w.Seq || g.Sender != w.Sender || g.Recipient != w.Recipient || g.GroupID != w.GroupID || !bytes.Equal(g.Frame, w.Frame) {
			return false
		}
	}
	return true
}

// checkRoundTrip encodes in as one batch and checks that it decodes to in,
// and that every prefix of the batch decodes to the messages it holds
// whole if it ends where a message ends, and is refused with errWire
// otherwise.
func checkRoundTrip(t *testing.T, in []wireMessage) {
	t.Helper()
	var b []byte
	ends := map[int]int{0: 0} // batch length -> messages it holds
	for i := range in {
		b = appendWireMessage(b, &in[i])
		ends[len(b)] = i + 1
	}
	if out, err := decodeAll(b); err != nil || !sameMessages(out, in) {
		t.Fatalf("decode(encode(%+v)) = %+v, %v", in, out, err)
	}
	for n := range len(b) {
		out, err := decodeAll(b[:n])
		k, whole := ends[n]
		switch {
		case whole && (err != nil || !sameMessages(out, in[:k])):
			t.Fatalf("first %d bytes, %d whole messages: got %+v, %v", n, k, out, err)
		case !whole && !errors.Is(err, errWire):
			t.Fatalf("first %d bytes, cut inside a message: err = %v, want errWire", n, err)
		}
	}
}

func TestWireMessagesRoundTrip(t *testing.T) {
	t.Parallel()
	checkRoundTrip(t, []wireMessage{
		{Conv: "d:a:b", Seq: 1, Sender: "a", Recipient: "b", Frame: []byte(`{"type":"message"}`)},
		{Conv: "g:42", Seq: 1 << 40, Sender: "c", GroupID: 42, Frame: []byte("x")},
		{Conv: "d:a:b", Seq: 2, Sender: "b", Recipient: "a", Frame: nil},
	})
}

func TestDecodeWireMessagesRefusesGarbage(t *testing.T) {
	t.Parallel()
	for name, b := range map[string][]byte{
		"length past the end":  {5, 'a'},
		"unterminated uvarint": {0x80},
		"uvarint overflow":     bytes.Repeat([]byte{0xff}, 11),
		"frame past the end":   append(appendWireMessage(nil, &wireMessage{Conv: "g:1"})[:8], 0x7f, '{', '}'),
	} {
		if out, err := decodeAll(b); !errors.Is(err, errWire) {
			t.Errorf("%s: got %+v, %v; want errWire", name, out, err)
		}
	}
}

// FuzzDecodeWireMessages checks that any two messages survive a round trip
// through a batch (and each of its prefixes decodes as checkRoundTrip
// says), and that arbitrary bytes either are refused with errWire or decode
// to messages that, encoded again, decode to the same messages.
func FuzzDecodeWireMessages(f *testing.F) {
	f.Add("g:1", int64(3), "a", "", int64(1), []byte("{}"), appendWireMessage(nil, &wireMessage{Conv: "g:1", Seq: 3, Sender: "a", GroupID: 1, Frame: []byte("{}")}))
	f.Add("d:a:b", int64(1)<<40, "a", "b", int64(0), []byte(`{"type":"message"}`), []byte{0x80})
	f.Add("", int64(-1), "", "", int64(-1), []byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, conv string, seq int64, sender, recipient string, gid int64, frame, raw []byte) {
		checkRoundTrip(t, []wireMessage{
			{Conv: conv, Seq: seq, Sender: sender, Recipient: recipient, GroupID: gid, Frame: frame},
			{Conv: recipient, Seq: ^seq, Sender: conv, Recipient: sender, GroupID: -gid, Frame: raw},
		})

		got, err := decodeAll(raw)
		if err != nil {
			if !errors.Is(err, errWire) {
				t.Fatalf("decode: error %v is not errWire", err)
			}
			return
		}
		var b []byte
		for i := range got {
			b = appendWireMessage(b, &got[i])
		}
		if again, err := decodeAll(b); err != nil || !sameMessages(again, got) {
			t.Fatalf("decoded %+v, re-encoded and decoded %+v, %v", got, again, err)
		}
	})
}

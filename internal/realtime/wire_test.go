package realtime

import (
	"bytes"
	"testing"
)

func TestWireMessagesRoundTrip(t *testing.T) {
	in := []wireMessage{
		{Conv: "d:a:b", Seq: 1, Sender: "a", Recipient: "b", Frame: []byte(`{"type":"message"}`)},
		{Conv: "g:42", Seq: 1 << 40, Sender: "c", GroupID: 42, Frame: []byte("x")},
		{Conv: "d:a:b", Seq: 2, Sender: "b", Recipient: "a", Frame: nil},
	}
	var b []byte
	for i := range in {
		b = appendWireMessage(b, &in[i])
	}
	var out []wireMessage
	if err := decodeWireMessages(b, func(w *wireMessage) { out = append(out, *w) }); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("got %d messages", len(out))
	}
	for i := range in {
		g, w := out[i], in[i]
		if g.Conv != w.Conv || g.Seq != w.Seq || g.Sender != w.Sender || g.Recipient != w.Recipient || g.GroupID != w.GroupID || !bytes.Equal(g.Frame, w.Frame) {
			t.Fatalf("message %d: got %+v, want %+v", i, g, w)
		}
	}
	// Every truncation is refused, never a panic.
	for n := 1; n < len(b); n++ {
		_ = decodeWireMessages(b[:n], func(*wireMessage) {})
	}
}

func FuzzDecodeWireMessages(f *testing.F) {
	f.Add(appendWireMessage(nil, &wireMessage{Conv: "g:1", Seq: 3, Sender: "a", GroupID: 1, Frame: []byte("{}")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = decodeWireMessages(data, func(w *wireMessage) {
			if len(w.Frame) > len(data) {
				t.Fatal("frame longer than input")
			}
		})
	})
}

package frame

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"tim/gen/models"
)

// checkScanFrame fails if scanFrame accepts in but the strict decoder
// refuses it or decodes it differently.
func checkScanFrame(t *testing.T, in []byte) (accepted bool) {
	t.Helper()
	if !utf8.Valid(in) {
		return false
	}
	trimmed := bytes.TrimSpace(in)
	f, ok := scanFrame(trimmed)
	if !ok {
		return false
	}
	var head struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(trimmed, &head); err != nil || head.Type == nil {
		t.Fatalf("scanFrame accepted %q, which is no typed frame (%v)", in, err)
	}
	var got, want any
	switch f.kind {
	case Send:
		got, want = f.send, strictFrame[models.SendFrame](t, trimmed, "a send")
	case Ack:
		got, want = f.ack, strictFrame[models.AckClientFrame](t, trimmed, "an ack")
	case Read:
		got, want = f.read, strictFrame[models.ReadFrame](t, trimmed, "a read")
	case Typing:
		got, want = f.typing, strictFrame[models.TypingClientFrame](t, trimmed, "a typing frame")
	default:
		t.Fatalf("scanFrame returned kind %v for %q", f.kind, in)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: scanFrame read %+v, the strict decoder %+v", in, got, want)
	}
	return true
}

// strictFrame decodes data as a T with the strict decoder, failing t when
// that refuses what scanFrame accepted as what.
func strictFrame[T any](t *testing.T, data []byte, what string) T {
	t.Helper()
	var v T
	if err := strictUnmarshal(data, &v); err != nil {
		t.Fatalf("scanFrame accepted %q as %s, the strict decoder refuses it: %v", data, what, err)
	}
	return v
}

func TestScanFrame(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"type":"send","to":"bob","text":"周六去爬山吗？","clientMsgId":"c-1"}`,
		` { "type" : "send" , "groupId" : 7 , "text" : "hi", "kind": "image" } `,
		`{"text":"x","type":"send","to":"b"}`,
		`{"type":"send","to":"b","text":""}`,
		`{"type":"ack","with":"bob","seq":0}`,
		`{"type":"ack","groupId":9007199254740991,"seq":123456789012345678}`,
		`{"type":"read","with":"bob","seq":12}`,
		`{"seq":3,"type":"read","groupId":7}`,
		`{"type":"typing","with":"bob"}`,
		`{"type":"typing","groupId":7}`,
	} {
		if !checkScanFrame(t, []byte(in)) {
			t.Errorf("%s: left to the strict decoder, want the fast path", in)
		}
	}
	for _, in := range []string{
		`{"type":"send","to":"b","text":"a\"b"}`,       // an escape
		`{"type":"send","to":null,"text":"x"}`,         // null
		`{"type":"send","to":"a","to":"b","text":"x"}`, // a repeated key
		`{"Type":"send","to":"b","text":"x"}`,          // a key in another case
		`{"type":"send","to":"b","text":"x","x":1}`,    // an unknown key
		`{"type":"ack","with":"b","seq":1e3}`,          // an exponent
		`{"type":"ack","with":"b","seq":1.0}`,          // a fraction
		`{"type":"ack","with":"b","seq":01}`,           // a leading zero
		`{"type":"ack","with":"b","seq":-1}`,           // a sign
		`{"type":"ack","with":"b","seq":1234567890123456789}`,
		`{"type":"send","to":"b","text":"x"} x`, // trailing data
		`{"type":"send","to":"b","text":"x"`,    // unterminated
		`{"type":"sync","with":"b","afterSeq":1}`,
		`{"type":"send","to":"b","seq":1,"text":"x"}`, // an ack's key in a send
		`{"type":"ack","with":"b","text":"x","seq":1}`,
		`{"to":"b","text":"x"}`, // the original frame
		`{"type":"read","with":"b","seq":1,"text":"x"}`,
		`{"type":"typing","with":"b","seq":1}`,
		`{"type":"typing","to":"b"}`,
		"{\"type\":\"send\",\"to\":\"b\",\"text\":\"a\tb\"}",
	} {
		if checkScanFrame(t, []byte(in)) {
			t.Errorf("%s: read by the fast path, want the strict decoder", in)
		}
	}
}

// FuzzScanFrame holds the fast path to the strict decoder for any input.
func FuzzScanFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"send","to":"bob","text":"hi","clientMsgId":"c-1","kind":"text"}`,
		`{"type":"ack","groupId":7,"seq":3}`, `{"type":"send","groupId":1,"text":"x"}`, `{}`, `{"type":"ack"}`,
		`{"type":"read","with":"b","seq":1}`, `{"type":"typing","groupId":7}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkScanFrame(t, in) })
}

package messages

import (
	"reflect"
	"testing"
	"time"

	"tim/internal/realtime/frame"
)

// TestFramedCopiesEveryField: every field of a stored message but its
// conversation key reaches the codec, so a field added to one is added to
// the other.
func TestFramedCopiesEveryField(t *testing.T) {
	t.Parallel()
	m := Message{
		ID: 1, Conv: "d:a:b", Seq: 2, Sender: "a", Recipient: "b", GroupID: 3, Kind: KindImage, Body: "p.png", ClientMsgID: "c",
		Time: time.Unix(4, 0), Media: &Media{Type: "image/png", Size: 5, Width: 6, Height: 7}, Recalled: true, Recalls: 8,
	}
	got := m.Framed()
	mv, fv := reflect.ValueOf(m), reflect.ValueOf(got)
	for i := range mv.NumField() {
		name := mv.Type().Field(i).Name
		if name == "Conv" {
			continue
		}
		f := fv.FieldByName(name)
		if !f.IsValid() {
			t.Errorf("frame.Message has no field %s", name)
			continue
		}
		if f.IsZero() {
			t.Errorf("Framed leaves %s out", name)
		}
	}
	if fv.NumField() != mv.NumField()-1 {
		t.Errorf("frame.Message has %d fields, the stored message %d besides Conv", fv.NumField(), mv.NumField()-1)
	}
	if *got.Media != (frame.Media{Type: "image/png", Size: 5, Width: 6, Height: 7}) {
		t.Errorf("media %+v", *got.Media)
	}
}

package frame

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"tim/gen/models"
)

// checkGroupRemoved fails unless the groupRemoved notice of these values
// decodes, with the generated type, back into what was encoded.
func checkGroupRemoved(t *testing.T, group int64, kicked bool, by string) {
	t.Helper()
	reason := models.GroupRemovedFrameReasonDissolved
	if kicked {
		reason = models.GroupRemovedFrameReasonKicked
	}
	var f models.GroupRemovedFrame
	data := EncodeGroupRemoved(group, reason, by)
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("groupRemoved frame %s: %v", data, err)
	}
	// Invalid UTF-8 is written as U+FFFD, as json.Marshal does.
	if f.Type != "groupRemoved" || f.GroupId != group || f.Reason != reason || utf8.ValidString(by) && f.By != by {
		t.Fatalf("groupRemoved frame %s decodes to %+v", data, f)
	}
}

func TestGroupRemovedFrame(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		reason models.GroupRemovedFrameReason
		want   string
	}{
		{models.GroupRemovedFrameReasonKicked, `{"by":"bob","groupId":7,"reason":"kicked","type":"groupRemoved"}`},
		{models.GroupRemovedFrameReasonDissolved, `{"by":"bob","groupId":7,"reason":"dissolved","type":"groupRemoved"}`},
	} {
		if got := string(EncodeGroupRemoved(7, c.reason, "bob")); got != c.want {
			t.Errorf("groupRemoved %s = %s, want %s", c.reason, got, c.want)
		}
	}
}

// FuzzGroupRemovedEncoder holds the groupRemoved notice to what the
// generated type decodes, for any group id and actor.
func FuzzGroupRemovedEncoder(f *testing.F) {
	f.Add(int64(7), true, "bob")
	f.Fuzz(func(t *testing.T, group int64, kicked bool, by string) {
		checkGroupRemoved(t, group, kicked, by)
	})
}

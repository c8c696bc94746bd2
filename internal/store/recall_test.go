package store_test

import (
	"errors"
	"testing"
	"time"

	"tim/internal/store"
)

// TestMediaDimensionsAndRecallLookups: a medium's dimensions survive the
// round trip, and none stays none; the recall lookups report a missing
// message or conversation as store.ErrNotFound.
func TestMediaDimensionsAndRecallLookups(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	now := time.Now()
	pic := store.Medium{Name: "pic", Kind: "chatpic", Owner: "a", Size: 10, ContentType: "image/png", SHA256: "p", CreatedAt: now, Width: 30, Height: 20}
	song := store.Medium{Name: "song", Kind: "mp3", Owner: "a", Size: 10, ContentType: "audio/mpeg", SHA256: "s", CreatedAt: now}
	for _, m := range []store.Medium{pic, song} {
		if err := st.MediaInsert(ctx, m); err != nil {
			t.Fatal(err)
		}
		got, err := st.MediaGetByNameAndKind(ctx, m.Name, m.Kind)
		if err != nil || got.Width != m.Width || got.Height != m.Height {
			t.Errorf("%s: %+v, %v; want %d×%d", m.Name, got, err, m.Width, m.Height)
		}
	}
	if _, err := st.MessageGetForRecall(ctx, 1<<40, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("recall of a missing message: %v, want store.ErrNotFound", err)
	}
	if _, err := st.ConversationTakeSeq(ctx, "d:nobody:none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("seq of a missing conversation: %v, want store.ErrNotFound", err)
	}
}

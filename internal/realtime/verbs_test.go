package realtime

import (
	"context"
	"testing"

	"tim/internal/messages"
)

// TestVerbsRefuseWhatIsNotAConversation: a key that names no conversation,
// or a one-to-one conversation of two other accounts, is an error before
// anything is broadcast.
func TestVerbsRefuseWhatIsNotAConversation(t *testing.T) {
	t.Parallel()
	var s Service // no bus: a broadcast would panic
	ctx := context.Background()
	for _, conv := range []string{"", "x:1", "g:0", "d:a"} {
		if err := s.Subscribe(ctx, "a", conv); err == nil {
			t.Errorf("Subscribe(%q) succeeded", conv)
		}
		if err := s.Unsubscribe(ctx, "a", conv); err == nil {
			t.Errorf("Unsubscribe(%q) succeeded", conv)
		}
	}
	if err := s.Unsubscribe(ctx, "c", messages.DirectKey("a", "b")); err == nil {
		t.Error("Unsubscribe of another pair's conversation succeeded")
	}
	if err := s.Subscribe(ctx, "a", messages.DirectKey("a", "b")); err != nil {
		t.Errorf("Subscribe to a one-to-one conversation: %v, want nothing to do", err)
	}
}

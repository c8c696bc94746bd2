package webapp_test

import (
	"testing"
	"time"

	"tim/internal/browsertest"
	"tim/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestChatInChromium runs web/e2e/chat.ts: two people use the web client
// at / in headless Chromium (driven by the pinned playwright-core) against a
// real server on a fresh database (browsertest says when it skips and
// where its screenshots go).
func TestChatInChromium(t *testing.T) {
	env := testenv.New(t)
	browsertest.Run(t, "chat", env.URL, 5*time.Minute)
}

// TestSocialInChromium runs web/e2e/social.ts: in the web client, a friend
// request to an approval account is accepted from the recipient's inbox
// and both see each other as friends; a blocked account's send is refused
// with 无权限 and reaches nobody; a group's owner mutes, renames, announces
// and kicks from the member list (on a 390-pixel-wide screen), and the
// kicked member's page drops the group while the owner's shows the event.
func TestSocialInChromium(t *testing.T) {
	env := testenv.New(t)
	browsertest.Run(t, "social", env.URL, 5*time.Minute)
}

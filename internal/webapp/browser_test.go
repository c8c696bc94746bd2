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

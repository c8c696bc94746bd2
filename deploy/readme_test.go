package deploy

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeSessionIsTheScript checks that the README's curl session and
// scripts/readme-session.sh, which CI runs against a fresh server
// (scripts/readme-check.sh), are the same text.
func TestReadmeSessionIsTheScript(t *testing.T) {
	readme := readText(t, "../README.md")
	script := readText(t, "../scripts/readme-session.sh")

	const heading = "## A session with curl\n"
	i := strings.Index(readme, heading)
	if i < 0 {
		t.Fatalf("README.md has no %q", strings.TrimSpace(heading))
	}
	block, ok := fenced(readme[i:])
	if !ok {
		t.Fatal(`README.md: no "` + "```sh" + `" block under "A session with curl"`)
	}

	const marker = "# README.md, \"A session with curl\", verbatim:\n"
	j := strings.Index(script, marker)
	if j < 0 {
		t.Fatalf("scripts/readme-session.sh has no line %q", strings.TrimSpace(marker))
	}
	if body := script[j+len(marker):]; body != block {
		t.Errorf("scripts/readme-session.sh differs from README.md's curl session; copy one to the other.\nREADME:\n%s\nscript:\n%s", block, body)
	}
}

// fenced returns the contents of the first ```sh block in s.
func fenced(s string) (string, bool) {
	const open, end = "```sh\n", "\n```\n"
	i := strings.Index(s, open)
	if i < 0 {
		return "", false
	}
	s = s[i+len(open):]
	j := strings.Index(s, end)
	if j < 0 {
		return "", false
	}
	return s[:j+1], true
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

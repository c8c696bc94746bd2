package realtime

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDisconnectsAreDocumented: every way a socket ends closes with a code
// that api/asyncapi.yaml lists, and tells its client to resume exactly when
// the document's client action is to reconnect.
func TestDisconnectsAreDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../api/asyncapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]string{} // code → client action, from the close code table
	for _, m := range regexp.MustCompile(`(?m)^\s*\| (\d{4}) \|[^|]*\| ([^|]*) \|\s*$`).FindAllStringSubmatch(string(doc), -1) {
		actions[m[1]] = m[2]
	}
	if len(actions) == 0 {
		t.Fatal("no close code table in asyncapi.yaml")
	}
	listed := string(doc[strings.Index(string(doc), "x-close-codes:"):])
	for name, d := range map[string]disconnect{
		"normal": disconnectNormal, "shutdown": disconnectShutdown, "too big": disconnectTooBig,
		"internal": disconnectInternal, "slow": disconnectSlow, "logged out": disconnectLoggedOut,
		"expired": disconnectExpired, "not a member": disconnectNotMember, "not friends": disconnectNotFriends,
		"echo": disconnectEcho(1005),
	} {
		code := strconv.Itoa(d.code)
		action, ok := actions[code]
		if !ok {
			t.Errorf("%s: close code %s is not in the close code table", name, code)
			continue
		}
		if !strings.Contains(listed, "'"+code+"':") {
			t.Errorf("%s: close code %s is not in x-close-codes", name, code)
		}
		if want := strings.HasPrefix(action, "reconnect"); d.resume != want {
			t.Errorf("%s: resume %v, but the client action of %s is %q", name, d.resume, code, action)
		}
	}
}

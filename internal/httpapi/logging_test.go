package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestTokenMaskedInLogsWhateverItsCase: a token query parameter never
// reaches the access log in clear, however its name is capitalised.
func TestTokenMaskedInLogsWhateverItsCase(t *testing.T) {
	t.Parallel()
	addr, logs := runTim(t, nil)
	for i, name := range []string{"token", "TOKEN", "Token", "tOkEn"} {
		secret := fmt.Sprintf("s3cr3t-%d-value", i)
		q := url.Values{"filename": {fmt.Sprintf("probe-%d", i)}, name: {secret}}
		res, err := http.Get("http://" + addr + "/downloadchatpic?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		logs.waitFor(t, regexp.MustCompile(fmt.Sprintf(`msg=request .*probe-%d`, i)))
		if strings.Contains(logs.String(), secret) {
			t.Errorf("?%s= logged in clear:\n%s", name, logs.String())
		}
	}
}

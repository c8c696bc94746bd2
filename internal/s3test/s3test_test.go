package s3test

import (
	"net/http"
	"testing"
)

// The server answers on its S3 port and refuses anonymous requests: the
// access key is required.
func TestStartServesS3ToKeyHoldersOnly(t *testing.T) {
	srv := Start(t, "tim-s3test")
	head := func(path string) int {
		t.Helper()
		res, err := http.Head("http://" + srv.Endpoint + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := head("/tim-s3test"); code != http.StatusForbidden {
		t.Errorf("anonymous HEAD of the bucket: %d, want 403", code)
	}
	req, err := http.NewRequest(http.MethodPut, "http://"+srv.Endpoint+"/tim-s3test/x", http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous PUT: %s, want 403", res.Status)
	}
}

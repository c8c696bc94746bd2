package media_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"tim/internal/sniff/snifftestdata"
)

// A row whose blob is gone (a file the store lost) is answered as if the
// file did not exist: 404 in the envelope, never a 500.
func TestLostBlobIsNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	name := b.mustUpload(t, opChatPic, "a.png", snifftestdata.PNG())
	if r := b.upload(t, opHeadPic, "b.bmp", snifftestdata.BMP()); r.Status != http.StatusOK {
		t.Fatalf("avatar upload: %+v", r)
	}
	blobs, _ := b.blobFiles(t)
	if len(blobs) != 2 {
		t.Fatalf("blobs = %v, want two", blobs)
	}
	for _, f := range blobs {
		if err := os.Remove(filepath.Join(b.env.Config.DataDir, "media", f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		o       op
		name    string
		message string
	}{
		{opChatPic, name, "文件不存在"},
		{opHeadPic, b.account, "该用户没有头像"},
	} {
		res, body := b.download(t, tc.o, tc.name, cond{})
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: status %d, want 404: %s", tc.o.name, res.StatusCode, body)
		}
		if e := envelopeOf(t, body); e.Code != 404 || e.Message != tc.message {
			t.Errorf("%s: envelope %+v", tc.o.name, e)
		}
	}
}

// A store that is down (its directory replaced by something unreadable as
// one) answers downloads 503 with a Retry-After, and /readyz says so; once
// the directory is back, both recover.
func TestStoreDownIsUnavailable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	name := b.mustUpload(t, opChatPic, "a.png", snifftestdata.PNG())
	if r := b.upload(t, opHeadPic, "b.bmp", snifftestdata.BMP()); r.Status != http.StatusOK {
		t.Fatalf("avatar upload: %+v", r)
	}
	dir := filepath.Join(b.env.Config.DataDir, "media")
	aside := dir + ".aside"
	if err := os.Rename(dir, aside); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		o    op
		name string
	}{{opChatPic, name}, {opHeadPic, b.account}} {
		o := tc.o
		res, body := b.download(t, o, tc.name, cond{})
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s with the store down: status %d, want 503: %s", o.name, res.StatusCode, body)
		}
		if got := res.Header.Get("Retry-After"); got == "" {
			t.Errorf("%s: no Retry-After", o.name)
		}
		if e := envelopeOf(t, body); e.Code != 503 || e.Message != "媒体存储不可用" {
			t.Errorf("%s: envelope %+v", o.name, e)
		}
	}
	ready, err := b.env.Client.ReadyzWithResponse(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ready.StatusCode() != http.StatusServiceUnavailable || ready.JSON503 == nil || ready.JSON503.Message != "媒体存储不可用" {
		t.Errorf("readyz with the store down: %d %s", ready.StatusCode(), ready.Body)
	}

	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(aside, dir); err != nil {
		t.Fatal(err)
	}
	if res, body := b.download(t, opChatPic, name, cond{}); res.StatusCode != http.StatusOK {
		t.Errorf("download with the store back: status %d: %s", res.StatusCode, body)
	}
	ready, err = b.env.Client.ReadyzWithResponse(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ready.StatusCode() != http.StatusOK {
		t.Errorf("readyz with the store back: %d %s", ready.StatusCode(), ready.Body)
	}
}

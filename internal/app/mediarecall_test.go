package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"tim/gen/models"
	"tim/internal/reply"
	"tim/internal/sniff/snifftestdata"
	"tim/internal/testenv"
)

// TestRecallRevokesMedia: recalling a media message revokes its file for
// everyone but its uploader: downloads answer 404 once no message that is
// not recalled carries the name (a second message carrying it keeps it
// readable after the first is recalled), the uploader still downloads it,
// and sending it again makes it readable again.
func TestRecallRevokesMedia(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ta, tb, tc := env.Register(t, "a"), env.Register(t, "b"), env.Register(t, "c")
	befriend(t, env, ta, "a", "b")
	join(t, env, ta, "a", 1)
	join(t, env, tc, "c", 1)
	pic := upload(t, env, ta, "/uploadchatpic", pngOf(t, 7, 5))
	song := upload(t, env, ta, "/uploadmp3", snifftestdata.MP3(40))
	picPath := "/downloadchatpic?filename=" + url.QueryEscape(pic)
	songPath := "/downloadmp3?filename=" + url.QueryEscape(song)

	a := dial(t, env, "/websocket/a", ta)
	send := func(frame, id string) float64 {
		t.Helper()
		a.Send(frame)
		f := a.Until("ack")
		if f["clientMsgId"] != id {
			t.Fatalf("ack %v, want %s", f, id)
		}
		return f["id"].(float64)
	}
	recall := func(id float64) {
		t.Helper()
		a.Send(`{"type":"recall","id":` + jsonNumber(int64(id)) + `}`)
		if f := a.Until("recall"); f["id"] != id {
			t.Fatalf("recall frame %v, want id %v", f, id)
		}
	}
	toB := send(`{"type":"send","to":"b","kind":"image","text":"`+pic+`","clientMsgId":"p1"}`, "p1")
	toGroup := send(`{"type":"send","groupId":1,"kind":"image","text":"`+pic+`","clientMsgId":"p2"}`, "p2")
	songToB := send(`{"type":"send","to":"b","kind":"audio","text":"`+song+`","clientMsgId":"s1"}`, "s1")
	wantStatus(t, env, tb, picPath, http.StatusOK)
	wantStatus(t, env, tc, picPath, http.StatusOK)
	wantStatus(t, env, tb, songPath, http.StatusOK)

	// The group's message still carries the picture.
	recall(toB)
	wantStatus(t, env, tb, picPath, http.StatusOK)
	wantStatus(t, env, tc, picPath, http.StatusOK)

	recall(toGroup)
	recall(songToB)
	wantStatus(t, env, tb, picPath, http.StatusNotFound)
	wantStatus(t, env, tc, picPath, http.StatusNotFound)
	wantStatus(t, env, tb, songPath, http.StatusNotFound)
	wantStatus(t, env, ta, picPath, http.StatusOK) // the uploader keeps it
	wantStatus(t, env, ta, songPath, http.StatusOK)

	// Sent again, it is readable again by whoever receives it.
	send(`{"type":"send","to":"b","kind":"image","text":"`+pic+`","clientMsgId":"p3"}`, "p3")
	wantStatus(t, env, tb, picPath, http.StatusOK)
}

// wantStatus downloads path with token and fails unless it answers status,
// with the envelope 文件不存在 for a 404.
func wantStatus(t *testing.T, env *testenv.Env, token, path string, status int) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("token", token)
	res, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	if cerr := res.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != status {
		t.Fatalf("GET %s: %d %s, want %d", path, res.StatusCode, body, status)
	}
	if status == http.StatusNotFound {
		var e models.Envelope
		if err := json.Unmarshal(body, &e); err != nil || e.Code != 404 || e.Message != reply.FileNotFound.Message {
			t.Fatalf("GET %s: envelope %s", path, body)
		}
	}
}

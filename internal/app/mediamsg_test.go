package app_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"tim/gen/models"
	"tim/internal/sniff/snifftestdata"
	"tim/internal/testenv"
)

// upload posts data as the file field of a multipart form to one of the
// upload endpoints and returns the stored name.
func upload(t *testing.T, env *testenv.Env, token, endpoint string, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, err := w.CreateFormFile("file", "f")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ct, auth := w.FormDataContentType(), testenv.Auth(token)
	var status int
	var body []byte
	switch endpoint {
	case "/uploadchatpic":
		res, e := env.Client.UploadChatPicWithBodyWithResponse(ctx, ct, &buf, auth)
		err, status, body = e, res.StatusCode(), res.Body
	case "/uploadmp3":
		res, e := env.Client.UploadMp3WithBodyWithResponse(ctx, ct, &buf, auth)
		err, status, body = e, res.StatusCode(), res.Body
	case "/uploadmp4":
		res, e := env.Client.UploadMp4WithBodyWithResponse(ctx, ct, &buf, auth)
		err, status, body = e, res.StatusCode(), res.Body
	case "/uploadheadpic":
		res, e := env.Client.UploadHeadPicWithBodyWithResponse(ctx, ct, &buf, auth)
		err, status, body = e, res.StatusCode(), res.Body
	}
	if err != nil || status != http.StatusOK {
		t.Fatalf("%s: %v %d %s", endpoint, err, status, body)
	}
	var env200 models.NameEnvelope
	if err := json.Unmarshal(body, &env200); err != nil || env200.Data == "" {
		t.Fatalf("%s: %s", endpoint, body)
	}
	return env200.Data
}

var (
	frameSpecOnce sync.Once
	frameSpec     *openapi3.T
	frameSpecErr  error
)

// messageFrame decodes a message frame after checking it against the
// MessageFrame schema.
func messageFrame(t *testing.T, v map[string]any) models.MessageFrame {
	t.Helper()
	frameSpecOnce.Do(func() { frameSpec, frameSpecErr = openapi3.NewLoader().LoadFromFile("../../api/openapi.yaml") })
	if frameSpecErr != nil {
		t.Fatal(frameSpecErr)
	}
	if err := frameSpec.Components.Schemas["MessageFrame"].Value.VisitJSON(v); err != nil {
		t.Fatalf("frame %v does not match MessageFrame: %v", v, err)
	}
	var m models.MessageFrame
	b, _ := json.Marshal(v)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wantMedia checks a media message's media field against the uploaded
// file and that its url downloads exactly that file.
func wantMedia(t *testing.T, env *testenv.Env, token string, m models.MessageFrame, mime string, data []byte, w, h int32) {
	t.Helper()
	md := m.Media
	if md == nil || string(md.Mime) != mime || md.Size != int64(len(data)) {
		t.Fatalf("message %d media %+v, want %s of %d bytes", m.Id, md, mime, len(data))
	}
	if (w == 0) != (md.Width == nil) || (w != 0 && (*md.Width != w || md.Height == nil || *md.Height != h)) {
		t.Fatalf("message %d media %+v, want %d×%d", m.Id, md, w, h)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.URL+md.Url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("token", token)
	res, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK || !bytes.Equal(got, data) || res.Header.Get("Content-Type") != mime {
		t.Fatalf("GET %s: %d %s, %d bytes (%v), want the %d uploaded", md.Url, res.StatusCode, res.Header.Get("Content-Type"), len(got), err, len(data))
	}
}

// TestMediaMessages: files uploaded through the media API are sent as
// messages of their kind; a name of another kind or no upload is refused
// and nothing is stored; the message frame describes the file (url,
// type, size, a picture's dimensions as shown), live on another instance,
// from the cursor of an offline member and in history; a recalled media
// message loses its media in history, and history lists no recall events.
func TestMediaMessages(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	peer := env.Peer(t)
	ta, tb, tc := env.Register(t, "a"), env.Register(t, "b"), env.Register(t, "c")
	befriend(t, env, ta, "a", "b")
	join(t, env, ta, "a", 1)
	join(t, env, tc, "c", 1)

	pic := pngOf(t, 30, 20)
	photo := snifftestdata.JPEGWithExif(64, 48, 6, 20000) // shown turned: 48×64
	mp3, mp4 := snifftestdata.MP3(40), snifftestdata.MP4(50000)
	picName := upload(t, env, ta, "/uploadchatpic", pic)
	photoName := upload(t, peer, ta, "/uploadchatpic", photo) // through the other instance
	mp3Name := upload(t, env, ta, "/uploadmp3", mp3)
	mp4Name := upload(t, env, ta, "/uploadmp4", mp4)
	avatarName := upload(t, env, ta, "/uploadheadpic", pngOf(t, 4, 4))

	a := dial(t, env, "/websocket/a", ta)
	a.Next()
	a.Next()
	b := dial(t, peer, "/websocket/b", tb) // on the other instance
	b.Next()
	b.Next()

	send := func(to, kind, text, id string) string {
		return `{"type":"send","to":"` + to + `","kind":"` + kind + `","text":"` + text + `","clientMsgId":"` + id + `"}`
	}
	refusals := []struct {
		frame, msg string
		code       float64
	}{
		{send("b", "image", mp3Name, "r1"), "该文件不是图片", 400},
		{send("b", "image", avatarName, "r2"), "该文件不是图片", 400},
		{send("b", "audio", picName, "r3"), "该文件不是MP3音频", 400},
		{send("b", "video", mp3Name, "r4"), "该文件不是MP4视频", 400},
		{send("b", "image", "2024-01-01:00:00:00-00000000000000000000000000000000", "r5"), "文件不存在", 404},
		{send("b", "video", "no such name", "r6"), "文件不存在", 404},
	}
	for _, r := range refusals {
		a.Send(r.frame)
		if f := a.Until("error"); f["code"] != r.code || f["message"] != r.msg {
			t.Errorf("%s: %v, want %v %s", r.frame, f, r.code, r.msg)
		}
	}

	// Nothing was stored: the first accepted send takes seq 1, and b's
	// first frame is its message.
	a.Send(send("b", "image", picName, "m1"))
	a.Send(send("b", "image", photoName, "m2"))
	a.Send(send("b", "audio", mp3Name, "m3"))
	a.Send(`{"type":"send","groupId":1,"kind":"video","text":"` + mp4Name + `"}`)
	var live []models.MessageFrame
	for range 3 {
		live = append(live, messageFrame(t, b.Until("message")))
	}
	for i, m := range live {
		if m.Seq != int64(i+1) || m.FromUser != "a" {
			t.Fatalf("b's message %d: %+v", i, m)
		}
	}
	wantMedia(t, peer, tb, live[0], "image/png", pic, 30, 20)
	wantMedia(t, peer, tb, live[1], "image/jpeg", photo, 48, 64)
	wantMedia(t, peer, tb, live[2], "audio/mpeg", mp3, 0, 0)
	if live[0].Message != picName || live[0].Kind != "image" || live[2].Kind != "audio" {
		t.Fatalf("message %+v", live[0])
	}
	// a's socket sent typed sends: it gets their acks, not the messages,
	// and the picture's ack describes the picture as b's message does.
	ack := a.Until("ack")
	media, _ := ack["media"].(map[string]any)
	if ack["clientMsgId"] != "m1" || media == nil || media["url"] != live[0].Media.Url ||
		media["width"] != float64(30) || media["height"] != float64(20) || media["mime"] != "image/png" {
		t.Fatalf("a's ack of the picture %v, b's message media %+v", ack, live[0].Media)
	}

	// c was offline: the video arrives from its cursor with its media
	// (seqs 1 and 2 are a's and c's join events).
	c := dial(t, peer, "/websocket/c", tc)
	video := messageFrame(t, c.Until("message"))
	if video.Seq != 3 || video.Kind != "video" || video.GroupId == nil || *video.GroupId != 1 {
		t.Fatalf("c's message %+v", video)
	}
	wantMedia(t, peer, tc, video, "video/mp4", mp4, 0, 0)

	// a recalls the picture; history shows it recalled and lists no recall
	// event, while the other messages keep their media.
	a.Send(`{"type":"recall","id":` + jsonNumber(live[0].Id) + `}`)
	if f := b.Until("recall"); f["id"] != float64(live[0].Id) || f["seq"] != float64(4) || f["by"] != "a" || f["with"] != "b" {
		t.Fatalf("recall frame %v", f)
	}
	res, err := env.Client.GetMessagesWithResponse(ctx, &models.GetMessagesParams{Account: "b", With: "a"}, testenv.Auth(tb))
	if err != nil || res.JSON200 == nil {
		t.Fatalf("history: %v %s", err, res.Body)
	}
	hist := res.JSON200.Data
	if len(hist) != 3 {
		t.Fatalf("history holds %d entries, want the 3 messages: %+v", len(hist), hist)
	}
	if h := hist[0]; h.Id != live[0].Id || h.Seq != 1 || h.Recalled == nil || !*h.Recalled || h.Message != "" || h.Media != nil {
		t.Fatalf("recalled message in history %+v", h)
	}
	for i := 1; i < 3; i++ {
		h, l := hist[i], live[i]
		hm, _ := json.Marshal(h.Media)
		lm, _ := json.Marshal(l.Media)
		if h.Id != l.Id || h.Message != l.Message || h.Recalled != nil || !bytes.Equal(hm, lm) {
			t.Fatalf("history %+v (media %s), live %+v (media %s)", h, hm, l, lm)
		}
	}
	wantMedia(t, env, tb, hist[1], "image/jpeg", photo, 48, 64)
	wantMedia(t, env, tb, hist[2], "audio/mpeg", mp3, 0, 0)
	gres, err := env.Client.GetGroupMessagesWithResponse(ctx, &models.GetGroupMessagesParams{Account: "c", GroupID: 1}, testenv.Auth(tc))
	if err != nil || gres.JSON200 == nil || len(gres.JSON200.Data) != 3 || gres.JSON200.Data[2].Event != nil {
		t.Fatalf("group history: %v %s, want the two join events and the video", err, gres.Body)
	}
	wantMedia(t, env, tc, gres.JSON200.Data[2], "video/mp4", mp4, 0, 0)
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

package media_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tim/gen/models"
	"tim/internal/config"
	"tim/internal/media"
	"tim/internal/sniff/snifftestdata"
	"tim/internal/testenv"
)

func ptr[T any](v T) *T { return &v }

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name, file string
		op         op
		data       []byte
		ctype, ext string
	}{
		{"chat png", "a.png", opChatPic, snifftestdata.PNG(), "image/png", ".png"},
		{"chat jpeg", "a.jpg", opChatPic, snifftestdata.JPEG(), "image/jpeg", ".jpg"},
		{"chat bmp", "a.bmp", opChatPic, snifftestdata.BMP(), "image/bmp", ".bmp"},
		{"bare mp3", "a.mp3", opMP3, snifftestdata.MP3(20), "audio/mpeg", ".mp3"},
		{"id3 mp3", "b.mp3", opMP3, snifftestdata.MP3WithID3(), "audio/mpeg", ".mp3"},
		{"mp4", "a.mp4", opMP4, snifftestdata.MP4(300 << 10), "video/mp4", ".mp4"},
		// Avatars last: each replaces the one before.
		{"avatar png", "a.png", opHeadPic, snifftestdata.PNG(), "image/png", ".png"},
		{"avatar jpeg", "a.jpg", opHeadPic, snifftestdata.JPEG(), "image/jpeg", ".jpg"},
		{"avatar bmp", "a.bmp", opHeadPic, snifftestdata.BMP(), "image/bmp", ".bmp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := b.mustUpload(t, tt.op, tt.file, tt.data)
			if !media.NamePattern.MatchString(name) {
				t.Fatalf("name %q does not match %s", name, media.NamePattern)
			}
			key := name
			if tt.op.name == "headpic" {
				key = b.account
			}
			res, body := b.download(t, tt.op, key, cond{})
			if res.StatusCode != http.StatusOK {
				t.Fatalf("download: status %d: %s", res.StatusCode, body)
			}
			if !bytes.Equal(body, tt.data) {
				t.Fatalf("downloaded %d bytes differ from the %d uploaded", len(body), len(tt.data))
			}
			sum := sha256.Sum256(tt.data)
			wantDisp := fmt.Sprintf(`inline; filename="%s%s"`, strings.ReplaceAll(name, ":", "-"), tt.ext)
			for h, want := range map[string]string{
				"Content-Type":           tt.ctype,
				"Content-Length":         fmt.Sprint(len(tt.data)),
				"Content-Disposition":    wantDisp,
				"X-Content-Type-Options": "nosniff",
				"ETag":                   `"` + hex.EncodeToString(sum[:]) + `"`,
				"Accept-Ranges":          "bytes",
			} {
				if got := res.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if res.Header.Get("Last-Modified") == "" {
				t.Error("no Last-Modified")
			}
		})
	}
}

func TestMP4Range(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := snifftestdata.MP4(1 << 20)
	copy(data[len(data)-1000:], bytes.Repeat([]byte("tail"), 250)) // make the bytes recognisable
	name := b.mustUpload(t, opMP4, "v.mp4", data)

	res, body := b.download(t, opMP4, name, cond{Range: ptr("bytes=1047576-1048075")})
	if res.StatusCode != http.StatusPartialContent {
		t.Fatalf("status %d, want 206", res.StatusCode)
	}
	if got, want := res.Header.Get("Content-Range"), fmt.Sprintf("bytes 1047576-1048075/%d", len(data)); got != want {
		t.Errorf("Content-Range = %q, want %q", got, want)
	}
	if !bytes.Equal(body, data[1047576:1048076]) {
		t.Errorf("range body differs")
	}

	// A suffix range, as players ask for the moov box at the end.
	res, body = b.download(t, opMP4, name, cond{Range: ptr("bytes=-4")})
	if res.StatusCode != http.StatusPartialContent || string(body) != "tail" {
		t.Errorf("suffix range: status %d body %q", res.StatusCode, body)
	}

	// If-Range with a stale ETag gets the whole file.
	res, body = b.download(t, opMP4, name, cond{Range: ptr("bytes=0-9"), IfRange: ptr(`"stale"`)})
	if res.StatusCode != http.StatusOK || len(body) != len(data) {
		t.Errorf("stale If-Range: status %d, %d bytes", res.StatusCode, len(body))
	}

	// A range past the end is 416 in the envelope.
	res, body = b.download(t, opMP4, name, cond{Range: ptr(fmt.Sprintf("bytes=%d-", len(data)+10))})
	if res.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("status %d, want 416", res.StatusCode)
	}
	if e := envelopeOf(t, body); e.Code != 416 || e.Message != "请求的范围无效" {
		t.Errorf("416 envelope = %+v", e)
	}
}

func TestRevalidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := snifftestdata.MP3(10)
	name := b.mustUpload(t, opMP3, "a.mp3", data)
	res, _ := b.download(t, opMP3, name, cond{})
	etag, lastMod := res.Header.Get("ETag"), res.Header.Get("Last-Modified")

	res, body := b.download(t, opMP3, name, cond{IfNoneMatch: ptr(etag)})
	if res.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("If-None-Match: status %d, %d bytes", res.StatusCode, len(body))
	}
	if got := res.Header.Get("ETag"); got != etag {
		t.Errorf("304 ETag = %q, want %q", got, etag)
	}
	res, _ = b.download(t, opMP3, name, cond{IfModifiedSince: ptr(lastMod)})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since: status %d", res.StatusCode)
	}
	res, body = b.download(t, opMP3, name, cond{IfNoneMatch: ptr(`"other"`)})
	if res.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Errorf("changed ETag: status %d", res.StatusCode)
	}
}

func TestDownloadTokenQuery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := snifftestdata.PNG()
	name := b.mustUpload(t, opChatPic, "a.png", data)
	b.mustUpload(t, opHeadPic, "a.png", data)

	for _, path := range []string{
		"/downloadchatpic?filename=" + url.QueryEscape(name),
		"/Tim/avatar?account=" + b.account,
	} {
		res, err := b.env.HTTP.Get(b.env.URL + path + "&token=" + url.QueryEscape(b.token))
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		_, _ = got.ReadFrom(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !bytes.Equal(got.Bytes(), data) {
			t.Errorf("%s with token query: status %d", path, res.StatusCode)
		}

		res, err = b.env.HTTP.Get(b.env.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without token: status %d, want 401", path, res.StatusCode)
		}
	}

	// Uploads take no token from the query.
	ct, body := form(t, "a.png", data)
	req, err := http.NewRequest(http.MethodPost, b.env.URL+"/uploadchatpic?token="+url.QueryEscape(b.token), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	res, err := b.env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("upload with token query: status %d, want 401", res.StatusCode)
	}
}

func TestRefusedUploads(t *testing.T) {
	t.Parallel()
	b := setup(t, testenv.WithConfig(func(c *config.Config) {
		c.Media.MaxChatPicBytes = 4 << 10
		c.Media.MaxMP4Bytes = 64 << 10
	}))
	png := snifftestdata.PNG()
	tests := []struct {
		name    string
		op      op
		file    string
		data    []byte
		status  int
		message string
	}{
		{"png named mp3", opMP3, "song.mp3", png, 415, "上传的格式不是MP3"},
		{"text named png", opChatPic, "a.png", []byte(strings.Repeat("just some text\n", 100)), 415, "上传的格式不是图片"},
		{"text avatar", opHeadPic, "a.png", []byte("hello"), 415, "上传的格式不是图片"},
		{"mp3 named mp4", opMP4, "a.mp4", snifftestdata.MP3(10), 415, "上传的格式不是视频"},
		{"mp4 as picture", opChatPic, "a.png", snifftestdata.MP4(1024), 415, "上传的格式不是图片"},
		{"empty", opChatPic, "a.png", []byte{}, 400, "上传的文件为空"},
		{"oversized picture", opChatPic, "a.png", append(bytes.Clone(png), make([]byte, 4<<10)...), 413, "上传的文件过大，上限为4096字节"},
		{"oversized mp4", opMP4, "a.mp4", snifftestdata.MP4(64<<10 + 1), 413, "上传的文件过大，上限为65536字节"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.upload(t, tt.op, tt.file, tt.data)
			if r.Status != tt.status || r.Code != int32(tt.status) || r.Message != tt.message {
				t.Errorf("got %d %+v, want %d %q", r.Status, r, tt.status, tt.message)
			}
			b.assertNothingStored(t)
		})
	}

	// Exactly at the limit is accepted.
	atLimit := snifftestdata.MP4(64 << 10)
	name := b.mustUpload(t, opMP4, "a.mp4", atLimit)
	if _, body := b.download(t, opMP4, name, cond{}); !bytes.Equal(body, atLimit) {
		t.Error("upload at the limit did not round-trip")
	}
}

func TestMalformedUploads(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("no file part", func(t *testing.T) {
		r := b.upload(t, opHeadPic, "", nil, "username", "alice")
		if r.Status != 400 || r.Message != "缺少文件字段file" {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("file under another field name", func(t *testing.T) {
		var buf bytes.Buffer
		ct, body := form(t, "a.png", snifftestdata.PNG())
		buf.Write(bytes.Replace(body, []byte(`name="file"`), []byte(`name="picture"`), 1))
		if r := b.send(t, opChatPic, ct, &buf); r.Status != 400 {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("not multipart", func(t *testing.T) {
		status, body, err := opChatPic.upload(context.Background(), b.env.Client, "application/json", strings.NewReader(`{"file":"x"}`), testenv.Auth(b.token))
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusUnsupportedMediaType {
			t.Errorf("status %d: %s", status, body)
		}
	})
	t.Run("no boundary", func(t *testing.T) {
		_, body := form(t, "a.png", snifftestdata.PNG())
		r := b.send(t, opChatPic, "multipart/form-data", bytes.NewReader(body))
		if r.Status != 400 || r.Code != 400 || !strings.Contains(r.Message, "boundary") {
			t.Errorf("got %+v", r)
		}
		b.assertNothingStored(t)
	})
	t.Run("garbage body", func(t *testing.T) {
		r := b.send(t, opChatPic, "multipart/form-data; boundary=xyz", strings.NewReader("this is not multipart at all"))
		if r.Status != 400 || r.Message != "上传的请求体不完整或格式错误" {
			t.Errorf("got %+v", r)
		}
	})

	// Bodies cut off inside the file part: in its first bytes (before
	// the content is sniffed) and half-way through.
	data := snifftestdata.MP4(256 << 10)
	ct, full := form(t, "a.mp4", data)
	start := bytes.Index(full, data[:16])
	for _, cut := range []int{start + 100, start + len(data)/2, start + len(data)} {
		t.Run(fmt.Sprintf("cut at %d", cut), func(t *testing.T) {
			r := b.send(t, opMP4, ct, bytes.NewReader(full[:cut]))
			if r.Status != 400 || r.Message != "上传的请求体不完整或格式错误" {
				t.Errorf("got %+v", r)
			}
			b.assertNothingStored(t)
		})
	}
}

func TestInvalidNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	chat := b.mustUpload(t, opChatPic, "a.png", snifftestdata.PNG())
	for _, name := range []string{
		"../etc/passwd",
		"a/b",
		"2022-02-26:01:34:05",
		"2022-02-26:01:34:05-",
		"2022-02-26:01:34:05-" + strings.Repeat("A", 32),
		"2022-02-26:01:34:05-" + strings.Repeat("a", 31),
		"2022-02-26:01:34:05-" + strings.Repeat("a", 32) + ".png",
		"2022-02-26:01:34:05-" + strings.Repeat("a", 30) + "/.",
		chat + "\n",
		"..%2f..%2fetc",
	} {
		res, body := b.download(t, opChatPic, name, cond{})
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", name, res.StatusCode)
			continue
		}
		if e := envelopeOf(t, body); e.Message != "文件名不合法" {
			t.Errorf("%q: message %q", name, e.Message)
		}
	}

	unknown := "2022-02-26:01:34:05-" + strings.Repeat("0", 32)
	for _, tc := range []struct {
		op   op
		name string
	}{
		{opChatPic, unknown},
		{opMP3, chat}, // a chat picture's name asked as MP3
		{opMP4, chat},
	} {
		res, body := b.download(t, tc.op, tc.name, cond{})
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s %q: status %d, want 404", tc.op.name, tc.name, res.StatusCode)
			continue
		}
		if e := envelopeOf(t, body); e.Message != "文件不存在" {
			t.Errorf("%s %q: message %q", tc.op.name, tc.name, e.Message)
		}
	}
	if res, _ := b.download(t, opHeadPic, "nobody", cond{}); res.StatusCode != http.StatusNotFound {
		t.Errorf("avatar of an unknown account: status %d", res.StatusCode)
	}
}

func TestAvatar(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bob := b.env.Register(t, "bob")

	login := func(account string) models.User {
		t.Helper()
		res, err := b.env.Client.UserLoginWithResponse(context.Background(), models.UserLoginJSONRequestBody{Account: account, Password: testenv.Password})
		if err != nil || res.JSON200 == nil {
			t.Fatalf("login: %v %v", err, res)
		}
		u, err := res.JSON200.Data[0].AsUser()
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	if u := login("alice"); u.AvatarUrl != nil {
		t.Fatalf("avatarUrl before any upload = %q", *u.AvatarUrl)
	}
	if res, _ := b.download(t, opHeadPic, "alice", cond{}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("avatar before upload: status %d", res.StatusCode)
	}

	// The username field is ignored: the avatar is the token's account's.
	first := snifftestdata.PNG()
	b.upload(t, opHeadPic, "a.png", first, "username", "bob")
	u := login("alice")
	if u.AvatarUrl == nil || *u.AvatarUrl != "/Tim/avatar?account=alice" {
		t.Fatalf("avatarUrl after upload = %v", u.AvatarUrl)
	}
	if u := login("bob"); u.AvatarUrl != nil {
		t.Errorf("bob got an avatar from alice's upload")
	}

	// Another user fetches it by the URL in the user object.
	res, err := b.env.HTTP.Get(b.env.URL + *u.AvatarUrl + "&token=" + url.QueryEscape(bob))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	_, _ = got.ReadFrom(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Equal(got.Bytes(), first) {
		t.Fatalf("fetch by avatarUrl: status %d", res.StatusCode)
	}

	// A new upload replaces it; the old one's row and blob go.
	second := snifftestdata.JPEG()
	b.mustUpload(t, opHeadPic, "b.jpg", second)
	res, body := b.download(t, opHeadPic, "alice", cond{})
	if !bytes.Equal(body, second) || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("avatar not replaced: %s", res.Header.Get("Content-Type"))
	}
	if n := b.mediaRows(t); n != 1 {
		t.Errorf("media rows = %d, want 1", n)
	}
	if blobs, _ := b.blobFiles(t); len(blobs) != 1 {
		t.Errorf("blobs = %v, want 1", blobs)
	}

	// Replacing it with content that a chat picture shares keeps the blob.
	shared := b.mustUpload(t, opChatPic, "c.png", first)
	b.mustUpload(t, opHeadPic, "a.png", first)
	b.mustUpload(t, opHeadPic, "b.jpg", second)
	if _, body := b.download(t, opChatPic, shared, cond{}); !bytes.Equal(body, first) {
		t.Error("shared blob lost when the avatar was replaced")
	}
}

func TestIdenticalContentStoredOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := snifftestdata.MP3WithID3()
	n1 := b.mustUpload(t, opMP3, "a.mp3", data)
	n2 := b.mustUpload(t, opMP3, "b.mp3", data)
	if n1 == n2 {
		t.Fatalf("both uploads named %q", n1)
	}
	if blobs, tmp := b.blobFiles(t); len(blobs) != 1 || len(tmp) != 0 {
		t.Errorf("blobs %v, tmp %v: want one blob", blobs, tmp)
	}
	for _, n := range []string{n1, n2} {
		if _, body := b.download(t, opMP3, n, cond{}); !bytes.Equal(body, data) {
			t.Errorf("%s differs", n)
		}
	}
}

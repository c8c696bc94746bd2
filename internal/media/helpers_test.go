package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"tim/gen/client"
	"tim/gen/models"
	"tim/internal/sniff/snifftestdata"
	"tim/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// bundle is one server with a registered account.
type bundle struct {
	env     *testenv.Env
	account string
	token   string
	pool    *pgxpool.Pool
}

func setup(t testing.TB, opts ...testenv.Option) bundle {
	t.Helper()
	env := testenv.New(t, opts...)
	pool, err := pgxpool.New(context.Background(), env.Config.DatabaseURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return bundle{env: env, account: "alice", token: env.Register(t, "alice"), pool: pool}
}

// reply is an upload's envelope.
type reply struct {
	Status  int
	Code    int32  `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data"`
}

// op is an upload endpoint and its download.
type op struct {
	name     string
	upload   func(ctx context.Context, c *client.ClientWithResponses, contentType string, body io.Reader, eds ...client.RequestEditorFn) (int, []byte, error)
	download func(ctx context.Context, c *client.ClientWithResponses, name string, h cond, eds ...client.RequestEditorFn) (*http.Response, []byte, error)
	path     string // download path, for raw requests
}

// cond holds the optional headers of a download.
type cond struct{ Range, IfRange, IfNoneMatch, IfModifiedSince *string }

var (
	opHeadPic = op{
		name: "headpic",
		upload: func(ctx context.Context, c *client.ClientWithResponses, ct string, body io.Reader, eds ...client.RequestEditorFn) (int, []byte, error) {
			r, err := c.UploadHeadPicWithBodyWithResponse(ctx, ct, body, eds...)
			if err != nil {
				return 0, nil, err
			}
			return r.StatusCode(), r.Body, nil
		},
		// name is the account for avatars.
		download: func(ctx context.Context, c *client.ClientWithResponses, account string, h cond, eds ...client.RequestEditorFn) (*http.Response, []byte, error) {
			r, err := c.GetAvatarWithResponse(ctx, &models.GetAvatarParams{Account: account, Range: h.Range, IfRange: h.IfRange, IfNoneMatch: h.IfNoneMatch, IfModifiedSince: h.IfModifiedSince}, eds...)
			if err != nil {
				return nil, nil, err
			}
			return r.HTTPResponse, r.Body, nil
		},
		path: "/Tim/avatar",
	}
	opChatPic = op{
		name: "chatpic",
		upload: func(ctx context.Context, c *client.ClientWithResponses, ct string, body io.Reader, eds ...client.RequestEditorFn) (int, []byte, error) {
			r, err := c.UploadChatPicWithBodyWithResponse(ctx, ct, body, eds...)
			if err != nil {
				return 0, nil, err
			}
			return r.StatusCode(), r.Body, nil
		},
		download: func(ctx context.Context, c *client.ClientWithResponses, name string, h cond, eds ...client.RequestEditorFn) (*http.Response, []byte, error) {
			r, err := c.DownloadChatPicWithResponse(ctx, &models.DownloadChatPicParams{Filename: name, Range: h.Range, IfRange: h.IfRange, IfNoneMatch: h.IfNoneMatch, IfModifiedSince: h.IfModifiedSince}, eds...)
			if err != nil {
				return nil, nil, err
			}
			return r.HTTPResponse, r.Body, nil
		},
		path: "/downloadchatpic",
	}
	opMP3 = op{
		name: "mp3",
		upload: func(ctx context.Context, c *client.ClientWithResponses, ct string, body io.Reader, eds ...client.RequestEditorFn) (int, []byte, error) {
			r, err := c.UploadMp3WithBodyWithResponse(ctx, ct, body, eds...)
			if err != nil {
				return 0, nil, err
			}
			return r.StatusCode(), r.Body, nil
		},
		download: func(ctx context.Context, c *client.ClientWithResponses, name string, h cond, eds ...client.RequestEditorFn) (*http.Response, []byte, error) {
			r, err := c.DownloadMp3WithResponse(ctx, &models.DownloadMp3Params{Filename: name, Range: h.Range, IfRange: h.IfRange, IfNoneMatch: h.IfNoneMatch, IfModifiedSince: h.IfModifiedSince}, eds...)
			if err != nil {
				return nil, nil, err
			}
			return r.HTTPResponse, r.Body, nil
		},
		path: "/downloadmp3",
	}
	opMP4 = op{
		name: "mp4",
		upload: func(ctx context.Context, c *client.ClientWithResponses, ct string, body io.Reader, eds ...client.RequestEditorFn) (int, []byte, error) {
			r, err := c.UploadMp4WithBodyWithResponse(ctx, ct, body, eds...)
			if err != nil {
				return 0, nil, err
			}
			return r.StatusCode(), r.Body, nil
		},
		download: func(ctx context.Context, c *client.ClientWithResponses, name string, h cond, eds ...client.RequestEditorFn) (*http.Response, []byte, error) {
			r, err := c.DownloadMp4WithResponse(ctx, &models.DownloadMp4Params{Filename: name, Range: h.Range, IfRange: h.IfRange, IfNoneMatch: h.IfNoneMatch, IfModifiedSince: h.IfModifiedSince}, eds...)
			if err != nil {
				return nil, nil, err
			}
			return r.HTTPResponse, r.Body, nil
		},
		path: "/downloadmp4",
	}
)

// form is a multipart body: a file field holding data, named fileName,
// and extra text fields.
func form(t testing.TB, fileName string, data []byte, fields ...string) (contentType string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		if err := w.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if data != nil {
		fw, err := w.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}

// upload sends data as the file field to o's upload endpoint.
func (b bundle) upload(t testing.TB, o op, fileName string, data []byte, fields ...string) reply {
	t.Helper()
	ct, body := form(t, fileName, data, fields...)
	return b.send(t, o, ct, bytes.NewReader(body))
}

func (b bundle) send(t testing.TB, o op, contentType string, body io.Reader) reply {
	t.Helper()
	status, raw, err := o.upload(context.Background(), b.env.Client, contentType, body, testenv.Auth(b.token))
	if err != nil {
		t.Fatalf("upload %s: %v", o.name, err)
	}
	r := reply{Status: status}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("upload %s: status %d, body %q: %v", o.name, status, raw, err)
	}
	return r
}

// mustUpload uploads data and returns the stored name.
func (b bundle) mustUpload(t testing.TB, o op, fileName string, data []byte) string {
	t.Helper()
	r := b.upload(t, o, fileName, data)
	if r.Status != http.StatusOK || r.Code != 200 || r.Message != "上传成功" || r.Data == "" {
		t.Fatalf("upload %s: %+v", o.name, r)
	}
	return r.Data
}

func (b bundle) download(t testing.TB, o op, name string, h cond) (*http.Response, []byte) {
	t.Helper()
	res, body, err := o.download(context.Background(), b.env.Client, name, h, testenv.Auth(b.token))
	if err != nil {
		t.Fatalf("download %s %q: %v", o.name, name, err)
	}
	return res, body
}

// envelopeOf decodes an error envelope.
func envelopeOf(t testing.TB, body []byte) models.Envelope {
	t.Helper()
	var e models.Envelope
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("decode envelope %q: %v", body, err)
	}
	return e
}

// mediaRows counts the rows of the media table.
func (b bundle) mediaRows(t testing.TB) int {
	t.Helper()
	var n int
	if err := b.pool.QueryRow(context.Background(), "SELECT count(*) FROM media").Scan(&n); err != nil {
		t.Fatalf("count media: %v", err)
	}
	return n
}

// blobFiles lists the stored blobs and the files left in the store's
// temporary directory.
func (b bundle) blobFiles(t testing.TB) (blobs, tmp []string) {
	t.Helper()
	root := filepath.Join(b.env.Config.DataDir, "media")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if filepath.Dir(rel) == "tmp" {
			tmp = append(tmp, rel)
		} else {
			blobs = append(blobs, rel)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("walk media dir: %v", err)
	}
	return blobs, tmp
}

// assertNothingStored fails unless the media table and the blob store are
// empty.
func (b bundle) assertNothingStored(t testing.TB) {
	t.Helper()
	if n := b.mediaRows(t); n != 0 {
		t.Errorf("media rows = %d, want 0", n)
	}
	blobs, tmp := b.blobFiles(t)
	if len(blobs) != 0 || len(tmp) != 0 {
		t.Errorf("files left: blobs %v, tmp %v", blobs, tmp)
	}
}

// mp4Stream is an MP4 of size bytes (at least the header's) generated on
// the fly: snifftestdata's ftyp and moov boxes, then an mdat box of zeros.
func mp4Stream(size int64) io.Reader {
	head := snifftestdata.MP4(0) // ends with an empty mdat header
	binary.BigEndian.PutUint32(head[len(head)-8:], uint32(size-int64(len(head))+8))
	return io.MultiReader(bytes.NewReader(head), io.LimitReader(zeros{}, size-int64(len(head))))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// streamingForm is a multipart body around a file of size bytes read from
// file, never held in memory, and the body's length. Browsers send the
// length of a form upload, so the tests do too rather than chunk it.
func streamingForm(file io.Reader, size int64) (contentType string, body io.Reader, length int64, err error) {
	var head, tail bytes.Buffer
	w := multipart.NewWriter(&head)
	if _, err := w.CreateFormFile("file", "big.mp4"); err != nil {
		return "", nil, 0, err
	}
	w2 := multipart.NewWriter(&tail)
	if err := w2.SetBoundary(w.Boundary()); err != nil {
		return "", nil, 0, err
	}
	if err := w2.Close(); err != nil { // writes only the closing boundary
		return "", nil, 0, err
	}
	length = int64(head.Len()) + size + int64(tail.Len())
	return w.FormDataContentType(), io.MultiReader(&head, file, &tail), length, nil
}

package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"time"

	"tim/gen/server"
	"tim/internal/auth"
	"tim/internal/blob"
	"tim/internal/reply"
	"tim/internal/sniff"
	"tim/internal/store"
)

// fileField is the multipart field holding the upload.
const fileField = "file"

// errWrongType is what the sniffing check returns for content of the wrong kind.
var errWrongType = errors.New("content of the wrong type")

// UploadHeadPic stores the token account's avatar, replacing the previous
// one. The document's username field is accepted and ignored: the avatar
// belongs to the token's account, whatever the form says.
func (a *API) UploadHeadPic(ctx context.Context, req server.UploadHeadPicRequestObject) (server.UploadHeadPicResponseObject, error) {
	return a.upload(ctx, req.Body, kindAvatar)
}

// UploadChatPic stores a JPEG, PNG or BMP picture.
func (a *API) UploadChatPic(ctx context.Context, req server.UploadChatPicRequestObject) (server.UploadChatPicResponseObject, error) {
	return a.upload(ctx, req.Body, kindChatPic)
}

// UploadMp3 stores MPEG audio.
func (a *API) UploadMp3(ctx context.Context, req server.UploadMp3RequestObject) (server.UploadMp3ResponseObject, error) {
	return a.upload(ctx, req.Body, kindMP3)
}

// UploadMp4 stores an MP4 video.
func (a *API) UploadMp4(ctx context.Context, req server.UploadMp4RequestObject) (server.UploadMp4ResponseObject, error) {
	return a.upload(ctx, req.Body, kindMP4)
}

// upload streams the file field of body into the blob store and records it
// as media of kind k owned by the token's account. It answers with the new
// name, or refuses the upload. Unexpected failures are errors; they never
// leave a row behind, nor a blob that no row refers to (cleaning up is best
// effort: a failed delete is logged).
func (a *API) upload(ctx context.Context, body *multipart.Reader, k kind) (reply.Envelope, error) {
	claims, ok := auth.FromContext(ctx)
	if !ok {
		// The auth middleware runs before every handler: this is a wiring bug.
		return reply.Envelope{}, errors.New("media: no verified token in context")
	}
	// The slot is taken before the body is read, so a client that waits
	// for 100 Continue sends nothing when it would be refused.
	if !a.slots.acquire(claims.Account) {
		return reply.Refuse(reply.TooManyUploads.Retry(retryAfter))
	}
	defer a.slots.release(claims.Account)

	part, err := filePart(body)
	if err != nil {
		return reply.Refuse(err)
	}
	// part is not closed: closing reads it to its end, which an oversized
	// or refused upload must not cost. The server discards the rest.

	src := &partReader{r: part}
	var content io.Reader = src
	var sizer *sniff.ImageSizer
	if k.accepts == sniff.Image {
		// A picture's dimensions, read as it streams past, go with its row
		// so that a message showing it needs no other request.
		sizer = &sniff.ImageSizer{}
		content = io.TeeReader(src, sizer)
	}
	var contentType string
	limit := a.limit(k)
	info, err := a.blobs.Put(ctx, content, limit, func(head []byte) error {
		ct, _ := sniff.Detect(head)
		if !sniff.Allowed(k.accepts, ct) {
			return errWrongType
		}
		contentType = ct
		return nil
	})
	switch {
	case err == nil:
	case isTimeout(src.err):
		// Slower than the minimum transfer rate; the store has discarded
		// what it received.
		a.logger.InfoContext(ctx, "upload too slow", slog.String("kind", k.name), slog.Int64("bytes", src.n))
		return reply.UploadTooSlow.Envelope(), nil
	case errors.Is(err, errWrongType):
		return k.wrongType.Envelope(), nil
	case errors.Is(err, blob.ErrTooLarge), isBodyTooLarge(src.err):
		return reply.FileTooLarge(limit).Envelope(), nil
	case errors.Is(err, blob.ErrEmpty):
		return reply.EmptyFile.Envelope(), nil
	case src.err != nil, errors.Is(err, context.Canceled):
		// The request body broke off or is not valid multipart: the
		// client's doing, and the store has discarded what it received.
		a.logger.InfoContext(ctx, "upload cut off", slog.String("kind", k.name), slog.Any("err", err))
		return reply.BadUploadBody.Envelope(), nil
	default:
		return reply.Envelope{}, fmt.Errorf("store %s: %w", k.name, err)
	}

	now := a.now().UTC().Truncate(time.Microsecond) // PostgreSQL's resolution
	name := newName(now)
	row := store.Medium{
		Name:        name,
		Kind:        k.name,
		Owner:       claims.Account,
		Size:        info.Size,
		ContentType: contentType,
		SHA256:      info.SHA256,
		CreatedAt:   now,
	}
	if sizer != nil {
		if w, h, ok := sizer.Size(); ok && w <= math.MaxInt32 && h <= math.MaxInt32 {
			row.Width, row.Height = int32(w), int32(h)
		}
	}
	replaced, err := a.record(ctx, row, k == kindAvatar)
	if err != nil {
		a.release(ctx, info.Key)
		return reply.Envelope{}, fmt.Errorf("record %s: %w", k.name, err)
	}
	if replaced != "" {
		a.release(ctx, replaced)
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgUploaded, Data: name}, nil
}

// filePart advances body to the file field, skipping other fields (the
// avatar form's username). A body without one, or one that is not valid
// multipart, is refused with the refusal that says why.
func filePart(body *multipart.Reader) (*multipart.Part, error) {
	for {
		p, err := body.NextPart()
		// Only a bare io.EOF is the closing boundary; NextPart wraps the
		// io.EOF of a body that ends early.
		if err == io.EOF { //nolint:errorlint // see above
			return nil, reply.NoFileField
		}
		if isBodyTooLarge(err) {
			return nil, reply.BodyTooLarge
		}
		if isTimeout(err) {
			return nil, reply.UploadTooSlow
		}
		if err != nil {
			return nil, reply.BadUploadBody
		}
		if p.FormName() == fileField {
			return p, nil
		}
	}
}

// record writes the media row of an uploaded blob and, for an avatar,
// points the owner's avatar at it. It returns the blob key of the avatar
// it replaced, whose row it deleted, or "".
func (a *API) record(ctx context.Context, row store.Medium, avatar bool) (replaced string, err error) {
	err = a.q.Tx(ctx, func(q *store.Queries) error {
		// Under the blob's lock no clean-up can delete it; one may have
		// done so between Put and here, if the blob was shared and its
		// last other reference went away meanwhile.
		if err := q.MediaLockSHA256(ctx, row.SHA256); err != nil {
			return fmt.Errorf("lock blob: %w", err)
		}
		f, err := a.blobs.Open(ctx, row.SHA256)
		if err != nil {
			return fmt.Errorf("check stored blob: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("check stored blob: %w", err)
		}
		if err := q.MediaInsert(ctx, row); err != nil {
			return fmt.Errorf("insert media: %w", err)
		}
		if !avatar {
			return nil
		}

		inserted, err := q.AvatarInsertIfAbsent(ctx, row.Owner, row.Name)
		if err != nil {
			return fmt.Errorf("insert avatar: %w", err)
		}
		if inserted {
			return nil
		}
		old, err := q.AvatarGetNameForUpdate(ctx, row.Owner)
		if err != nil {
			return fmt.Errorf("get avatar: %w", err)
		}
		if err := q.AvatarUpdate(ctx, row.Owner, row.Name); err != nil {
			return fmt.Errorf("update avatar: %w", err)
		}
		replaced, err = q.MediaDeleteByName(ctx, old)
		if err != nil {
			return fmt.Errorf("delete replaced avatar: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return replaced, nil
}

// partReader reads an upload's file part for the blob store. It keeps the
// first error other than io.EOF, so that a failed Put can tell a broken
// request body (the client's doing) from a failing disk (the server's).
//
// It also fills p as far as the part allows: a multipart.Part returns at
// most 4 KiB a read (the size of its peek buffer), and the store hashes and
// writes what each read returns, so passing those reads on one by one would
// cost a write system call per 4 KiB.
type partReader struct {
	r   io.Reader
	n   int64 // bytes read
	err error
}

func (e *partReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := e.r.Read(p[n:])
		n += m
		e.n += int64(m)
		if err != nil {
			if err != io.EOF && e.err == nil { //nolint:errorlint // io.EOF is returned unwrapped by contract
				e.err = err
			}
			return n, err
		}
	}
	return n, nil
}

// isTimeout reports whether err comes from a request body that missed its
// read deadline: an upload slower than the minimum transfer rate.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// isBodyTooLarge reports whether err comes from the HTTP layer's limit on
// the whole request body.
func isBodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

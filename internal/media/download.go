package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"tim/gen/models"
	"tim/gen/server"
	"tim/internal/auth"
	"tim/internal/blob"
	"tim/internal/reply"
	"tim/internal/store"
)

// conditions are the request headers that http.ServeContent honours.
type conditions struct {
	Range, IfRange, IfNoneMatch, IfModifiedSince *string
}

func (c conditions) header() http.Header {
	h := http.Header{}
	for name, v := range map[string]*string{
		"Range":             c.Range,
		"If-Range":          c.IfRange,
		"If-None-Match":     c.IfNoneMatch,
		"If-Modified-Since": c.IfModifiedSince,
	} {
		if v != nil {
			h.Set(name, *v)
		}
	}
	return h
}

// downloadResponse is the answer of every download operation: the content,
// or an envelope refusing it.
type downloadResponse interface {
	server.GetAvatarResponseObject
	server.DownloadChatPicResponseObject
	server.DownloadMp3ResponseObject
	server.DownloadMp4ResponseObject
}

// GetAvatar streams account's avatar. Avatars are public profile data: any
// authenticated user may fetch anyone's.
func (a *API) GetAvatar(ctx context.Context, req server.GetAvatarRequestObject) (server.GetAvatarResponseObject, error) {
	p := req.Params
	row, err := a.q.AvatarGetByAccount(ctx, p.Account)
	if errors.Is(err, store.ErrNotFound) {
		return reply.NoAvatar.Envelope(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("get avatar of %q: %w", p.Account, err)
	}
	return a.open(ctx, row, reply.NoAvatar, conditions{p.Range, p.IfRange, p.IfNoneMatch, p.IfModifiedSince}, "private, no-cache")
}

// DownloadChatPic streams a picture stored by UploadChatPic.
func (a *API) DownloadChatPic(ctx context.Context, req server.DownloadChatPicRequestObject) (server.DownloadChatPicResponseObject, error) {
	p := req.Params
	return a.download(ctx, kindChatPic, p.Filename, conditions{p.Range, p.IfRange, p.IfNoneMatch, p.IfModifiedSince})
}

// DownloadMp3 streams audio stored by UploadMp3.
func (a *API) DownloadMp3(ctx context.Context, req server.DownloadMp3RequestObject) (server.DownloadMp3ResponseObject, error) {
	p := req.Params
	return a.download(ctx, kindMP3, p.Filename, conditions{p.Range, p.IfRange, p.IfNoneMatch, p.IfModifiedSince})
}

// DownloadMp4 streams video stored by UploadMp4.
func (a *API) DownloadMp4(ctx context.Context, req server.DownloadMp4RequestObject) (server.DownloadMp4ResponseObject, error) {
	p := req.Params
	return a.download(ctx, kindMP4, p.Filename, conditions{p.Range, p.IfRange, p.IfNoneMatch, p.IfModifiedSince})
}

// download opens the media of kind k called name. A name this server cannot
// have issued is refused before any lookup; a name of another kind is not
// found.
func (a *API) download(ctx context.Context, k kind, name string, cond conditions) (downloadResponse, error) {
	if !NamePattern.MatchString(name) {
		return reply.BadFilename.Envelope(), nil
	}
	claims, ok := auth.FromContext(ctx)
	if !ok {
		// The auth middleware runs before every handler: this is a wiring bug.
		return nil, errors.New("media: no verified token in context")
	}
	// A file recalled with its message is not found for whoever is not
	// its owner, unless another message still carries it.
	row, revoked, err := a.q.MediaGetForDownload(ctx, name, k.name, claims.Account)
	if errors.Is(err, store.ErrNotFound) || (err == nil && revoked) {
		return reply.FileNotFound.Envelope(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %q: %w", k.name, name, err)
	}
	// Named media never change: caches may keep them.
	return a.open(ctx, row, reply.FileNotFound, cond, "private, max-age=31536000, immutable")
}

// storeRetryAfter is the Retry-After, in seconds, of a download refused
// because the blob store failed.
const storeRetryAfter = 5

// open opens the blob of row for serving. A blob the store has lost is
// refused with missing, as if the row did not exist; a store that fails
// otherwise is MediaStoreUnavailable, which says when to retry.
func (a *API) open(ctx context.Context, row store.Medium, missing reply.Refusal, cond conditions, cacheControl string) (downloadResponse, error) {
	f, err := a.blobs.Open(ctx, row.SHA256)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		a.logger.WarnContext(ctx, "media row without its blob",
			slog.String("kind", row.Kind), slog.String("name", row.Name), slog.String("sha256", row.SHA256))
		return missing.Envelope(), nil
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("open blob of %s %q: %w", row.Kind, row.Name, err)
	case err != nil:
		a.logger.ErrorContext(ctx, "media store unavailable",
			slog.String("kind", row.Kind), slog.String("name", row.Name), slog.Any("err", err))
		return reply.Refuse(reply.MediaStoreUnavailable.Retry(storeRetryAfter))
	}
	return &content{
		file:         f,
		contentType:  row.ContentType,
		disposition:  `inline; filename="` + downloadName(row.Name, row.ContentType) + `"`,
		etag:         strconv.Quote(row.SHA256),
		modTime:      row.CreatedAt,
		cacheControl: cacheControl,
		conditions:   cond.header(),
	}, nil
}

// content is an open blob served by http.ServeContent: 200, 206 for a
// range, 304 on revalidation, and 416 (in the envelope) for a range outside
// the content. It is the success response of every download operation.
type content struct {
	file         blob.File
	contentType  string // sniffed at upload
	disposition  string
	etag         string // strong: the content's SHA-256
	modTime      time.Time
	cacheControl string
	conditions   http.Header // Range and the conditional headers of the request
}

func (c *content) VisitGetAvatarResponse(w http.ResponseWriter) error       { return c.serve(w) }
func (c *content) VisitDownloadChatPicResponse(w http.ResponseWriter) error { return c.serve(w) }
func (c *content) VisitDownloadMp3Response(w http.ResponseWriter) error     { return c.serve(w) }
func (c *content) VisitDownloadMp4Response(w http.ResponseWriter) error     { return c.serve(w) }

// serve writes the response and closes the file. Strict handlers do not see
// the http.Request, so ServeContent gets a synthetic one carrying only the
// headers it reads.
func (c *content) serve(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Content-Type", c.contentType) // ServeContent does not sniff when set
	h.Set("Content-Disposition", c.disposition)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", c.etag)
	h.Set("Cache-Control", c.cacheControl)
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/"}, Header: c.conditions}
	http.ServeContent(&rangeErrorWriter{ResponseWriter: w}, req, "", c.modTime, c.file)
	return c.file.Close()
}

// rangeErrorWriter renders ServeContent's plain-text 416 as the envelope.
type rangeErrorWriter struct {
	http.ResponseWriter
	discard bool // the 416 body is written; drop ServeContent's
}

func (w *rangeErrorWriter) WriteHeader(code int) {
	if code != http.StatusRequestedRangeNotSatisfiable {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.discard = true
	body, err := json.Marshal(models.Envelope{Code: reply.BadRange.Code, Message: reply.BadRange.Message})
	if err != nil {
		panic("media: marshal envelope: " + err.Error()) // a struct of a number and a string
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	for _, k := range []string{"Content-Disposition", "ETag", "Cache-Control"} {
		h.Del(k)
	}
	w.ResponseWriter.WriteHeader(code)
	_, _ = w.ResponseWriter.Write(body) // a failed write means the client is gone
}

func (w *rangeErrorWriter) Write(p []byte) (int, error) {
	if w.discard {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *rangeErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

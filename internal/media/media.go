// Package media serves uploaded media: avatars, chat pictures, MP3 audio and
// MP4 video. Uploads stream from the multipart request body into a blob
// store, are recognised by their content (never by file name or declared
// Content-Type) and are recorded in PostgreSQL; downloads stream back with
// HTTP range and revalidation support from net/http.
//
// # Names
//
// Every upload gets its own name: the upload time, in UTC, in the original
// document's layout 2006-01-02:15:04:05 (24-hour clock), a dash, and 32
// lowercase hex digits (128 random bits), for example
//
//	2022-02-26:01:34:05-9f86d081884c7d659a2feaa0c55ad015
//
// Names are unique and cannot be guessed; clients treat them as opaque. A
// download accepts only names of exactly this shape (NamePattern), so path
// separators, dots and other characters never reach the store.
//
// # Storage
//
// Blobs are content addressed, so identical uploads share one blob while
// each keeps its own name and row. A blob that no row refers to any more (a
// replaced avatar, an upload whose row could not be written) is deleted;
// taking and dropping references to one blob are serialised by a
// transaction-scoped advisory lock on its SHA-256.
package media

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"tim/internal/blob"
	"tim/internal/config"
	"tim/internal/reply"
	"tim/internal/sniff"
	"tim/internal/store"
)

// msgUploaded answers an upload, in the original document's words, as are
// the refusals of a wrong type (reply.NotImageUpload, NotMP3Upload,
// NotVideoUpload). Refusals are the reply package's.
const msgUploaded = "上传成功"

// TimeLayout is the layout of the upload time that starts every name.
const TimeLayout = "2006-01-02:15:04:05"

// NamePattern matches exactly the names this server issues.
var NamePattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}:[0-9]{2}:[0-9]{2}:[0-9]{2}-[0-9a-f]{32}$`)

// retryAfter is the Retry-After, in seconds, of an upload refused because
// its account has too many in flight.
const retryAfter = 5

// kind is one kind of upload: its value in the media table, what content
// it accepts, and the refusal of anything else.
type kind struct {
	name      string // media.kind
	accepts   sniff.Kind
	wrongType reply.Refusal
}

var (
	kindAvatar  = kind{name: "avatar", accepts: sniff.Image, wrongType: reply.NotImageUpload}
	kindChatPic = kind{name: "chatpic", accepts: sniff.Image, wrongType: reply.NotImageUpload}
	kindMP3     = kind{name: "mp3", accepts: sniff.Audio, wrongType: reply.NotMP3Upload}
	kindMP4     = kind{name: "mp4", accepts: sniff.Video, wrongType: reply.NotVideoUpload}
)

// API implements the media operations of the generated
// StrictServerInterface.
type API struct {
	q      *store.Store
	blobs  blob.Store
	limits config.Media // the largest uploads per kind; uploads in flight per account (0: no limit)
	slots  *slots
	logger *slog.Logger
	now    func() time.Time
}

// New returns an API recording media in st and keeping their bytes in
// blobs.
func New(st *store.Store, blobs blob.Store, limits config.Media, logger *slog.Logger) *API {
	return &API{q: st, blobs: blobs, limits: limits, slots: newSlots(limits.UploadsPerAccount), logger: logger, now: time.Now}
}

func (a *API) limit(k kind) int64 {
	switch k {
	case kindAvatar:
		return a.limits.MaxAvatarBytes
	case kindChatPic:
		return a.limits.MaxChatPicBytes
	case kindMP3:
		return a.limits.MaxMP3Bytes
	case kindMP4:
		return a.limits.MaxMP4Bytes
	}
	return 0
}

// newName returns a fresh name for an upload at t.
func newName(t time.Time) string {
	var suffix [16]byte
	_, _ = rand.Read(suffix[:]) // crypto/rand.Read never fails
	return t.UTC().Format(TimeLayout) + "-" + hex.EncodeToString(suffix[:])
}

// extension is the file extension of a content type sniff.Detect returns.
func extension(contentType string) string {
	switch contentType {
	case sniff.TypeJPEG:
		return ".jpg"
	case sniff.TypePNG:
		return ".png"
	case sniff.TypeBMP:
		return ".bmp"
	case sniff.TypeMP3:
		return ".mp3"
	case sniff.TypeMP4:
		return ".mp4"
	}
	return ""
}

// downloadName is the file name offered in Content-Disposition: the stored
// name with the colons of its time replaced, and the content's extension.
func downloadName(name, contentType string) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, name)
	return safe + extension(contentType)
}

// release deletes the blob key when no media row refers to it any more.
// Failing to delete only leaves an unreferenced blob behind, so errors are
// logged, not returned.
func (a *API) release(ctx context.Context, key string) {
	ctx = context.WithoutCancel(ctx)
	err := a.q.Tx(ctx, func(q *store.Queries) error {
		if err := q.MediaLockSHA256(ctx, key); err != nil {
			return fmt.Errorf("lock blob: %w", err)
		}
		n, err := q.MediaCountBySHA256(ctx, key)
		if err != nil {
			return fmt.Errorf("count blob references: %w", err)
		}
		if n > 0 {
			return nil
		}
		if err := a.blobs.Delete(ctx, key); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return fmt.Errorf("delete unreferenced blob: %w", err)
		}
		return nil
	})
	if err != nil {
		a.logger.WarnContext(ctx, "release media blob", slog.String("sha256", key), slog.Any("err", err))
	}
}

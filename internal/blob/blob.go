// Package blob stores uploaded media as immutable blobs.
//
// Blobs are content addressed: a blob's key is the SHA-256 of its bytes, so
// identical uploads are stored once. Uploads are streamed to a temporary
// file, checked, hashed, synced and only then renamed into place, so a blob
// that can be opened is always complete; an upload that fails for any reason
// (too large, refused by the caller's check, cut off, cancelled) leaves
// nothing behind.
package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// HeadSize is how many leading bytes Put passes to its check function. It
// equals sniff.HeadSize, so that the check can sniff the content type.
const HeadSize = 4096

// Errors returned by Store implementations; match them with errors.Is.
var (
	// ErrTooLarge means the content was longer than the limit given to Put.
	ErrTooLarge = errors.New("blob too large")
	// ErrEmpty means the content given to Put was empty.
	ErrEmpty = errors.New("blob empty")
	// ErrNotFound means no blob has the key.
	ErrNotFound = errors.New("blob not found")
	// ErrInvalidKey means a key is not well-formed. Errors wrapping it also
	// match ErrNotFound, since no blob can have such a key: a handler that
	// maps ErrNotFound to 404 treats a malformed key in a URL the same way.
	ErrInvalidKey = errors.New("invalid blob key")
)

// Store keeps immutable blobs addressed by key.
type Store interface {
	// Put streams r into a new blob. It reads at most limit+1 bytes; when r
	// holds more than limit bytes it returns ErrTooLarge and leaves nothing
	// behind, and when r is empty it returns ErrEmpty. check, if not nil, is
	// called with the first HeadSize bytes (fewer if the blob is shorter)
	// before anything is committed; if it returns an error, Put returns
	// that error (wrapped) and leaves nothing behind. check must not keep
	// head. When content identical to r is already stored, Put returns the
	// existing blob's info.
	Put(ctx context.Context, r io.Reader, limit int64, check func(head []byte) error) (Info, error)

	// Open opens the blob with the given key for reading, or returns
	// ErrNotFound. The caller must close the file.
	Open(ctx context.Context, key string) (File, error)

	// Delete removes the blob with the given key, or returns ErrNotFound.
	// Identical content shares one blob, so callers that let several
	// owners refer to one key must count references before deleting.
	Delete(ctx context.Context, key string) error
}

// Info describes a stored blob.
type Info struct {
	Key     string // key to Open and Delete the blob with
	Size    int64  // bytes
	SHA256  string // hex-encoded SHA-256 of the content
	Existed bool   // identical content was already stored before this Put
}

// File is an open blob. It can be served with http.ServeContent:
//
//	http.ServeContent(w, r, name, f.ModTime(), f)
type File interface {
	io.ReadSeekCloser
	Size() int64        // bytes
	ModTime() time.Time // when the blob was first stored
}

package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Local is a Store keeping blobs as files in a local directory:
//
//	<dir>/ab/cdef…   the blob whose key is abcdef… (two-character fan-out)
//	<dir>/tmp/       uploads in progress
//
// Several processes may share a directory (one mounted by every instance):
// NewLocal removes from <dir>/tmp only what has not been written for
// StaleTemporary, which no live upload reaches, so a process starting does
// not break another's upload in flight.
type Local struct {
	dir string // root directory
	tmp string // directory for uploads in progress, inside dir
}

var _ Store = (*Local)(nil)

// Permissions of the directories Local creates. Blob files get the 0600 of
// os.CreateTemp: only the server reads them.
const dirPerm = 0o750

// StaleTemporary is the age past which NewLocal takes a temporary file for
// the leftover of a dead process and removes it. A live upload writes its
// file all along (uploads slower than the minimum transfer rate are cut
// off within seconds), so its modification time stays far younger.
const StaleTemporary = 24 * time.Hour

// copyBufferSize is the size of the buffers Put copies through. Large
// buffers mean few system calls per upload; they are pooled so that
// concurrent uploads do not allocate one each time.
const copyBufferSize = 256 << 10

var copyBuffers = sync.Pool{
	New: func() any {
		b := make([]byte, copyBufferSize)
		return &b
	},
}

// NewLocal returns a Local storing blobs under dir. It creates dir and its
// temporary directory if needed and removes temporary files left behind by
// dead processes: those not modified for StaleTemporary. Younger ones may
// be another process's uploads in flight and are left alone.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("new local blob store: empty directory name")
	}
	l := &Local{dir: filepath.Clean(dir), tmp: filepath.Join(dir, "tmp")}
	if err := os.MkdirAll(l.tmp, dirPerm); err != nil {
		return nil, fmt.Errorf("new local blob store: %w", err)
	}
	entries, err := os.ReadDir(l.tmp)
	if err != nil {
		return nil, fmt.Errorf("new local blob store: %w", err)
	}
	cutoff := time.Now().Add(-StaleTemporary)
	for _, e := range entries {
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // its upload ended meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("new local blob store: %w", err)
		}
		if !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(l.tmp, e.Name())); err != nil {
			return nil, fmt.Errorf("new local blob store: remove stale temporary file: %w", err)
		}
	}
	return l, nil
}

// Put implements Store. It streams r through a pooled buffer into a
// temporary file while hashing it, then syncs the file, renames it to its
// content address and syncs the directory (best effort).
//
// Cancelling ctx stops Put at its next read from r; a read that is already
// blocked returns only when r does (for an HTTP request body, when the
// server closes the connection).
func (l *Local) Put(ctx context.Context, r io.Reader, limit int64, check func(head []byte) error) (info Info, err error) {
	if limit < 0 {
		return Info{}, fmt.Errorf("put blob: negative limit %d", limit)
	}
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}

	tmp, err := os.CreateTemp(l.tmp, "put-*")
	if err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	// Until the rename succeeds, every return removes the temporary file.
	renamed, closed := false, false
	defer func() {
		if renamed {
			return
		}
		if !closed {
			// The file is being discarded, and a close error says
			// nothing about that.
			_ = tmp.Close()
		}
		if rmErr := os.Remove(tmp.Name()); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("put blob: remove temporary file: %w", rmErr))
		}
	}()

	sum, size, err := writeContent(ctx, tmp, r, limit, check)
	if err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return Info{}, fmt.Errorf("put blob: sync: %w", err)
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return Info{}, fmt.Errorf("put blob: close: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}

	key := hex.EncodeToString(sum)
	info = Info{Key: key, Size: size, SHA256: key}
	fanout, final := l.paths(key)
	created, err := mkdir(fanout)
	if err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	if created {
		// Best effort: make the new fan-out directory's entry durable.
		_ = syncDir(l.dir)
	}
	if _, err := os.Lstat(final); err == nil {
		// Identical content is stored already; the deferred function
		// discards the temporary file.
		info.Existed = true
		return info, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	// Two Puts of identical content may both get here; the second rename
	// replaces the first file with identical bytes, which is harmless.
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	renamed = true
	// Best effort: some file systems cannot sync directories, and the blob
	// is complete either way; at worst a crash forgets it.
	_ = syncDir(fanout)
	return info, nil
}

// writeContent copies r to f, reading at most limit+1 bytes, and returns the
// SHA-256 and size of what it copied. It calls check with the head of the
// content as soon as the head has been read, before copying the rest.
func writeContent(ctx context.Context, f *os.File, r io.Reader, limit int64, check func([]byte) error) (sum []byte, size int64, err error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)

	src := io.Reader(ctxReader{ctx: ctx, r: r})
	if limit < math.MaxInt64 {
		src = io.LimitReader(src, limit+1)
	}
	hash := sha256.New()
	dst := io.MultiWriter(f, hash)

	head := (*buf)[:HeadSize]
	n, err := readHead(src, head)
	if err != nil {
		return nil, 0, fmt.Errorf("read: %w", err)
	}
	head = head[:n]
	switch {
	case n == 0:
		return nil, 0, ErrEmpty
	case int64(n) > limit:
		return nil, 0, ErrTooLarge
	}
	if check != nil {
		if err := check(head); err != nil {
			return nil, 0, err
		}
	}
	if _, err := dst.Write(head); err != nil {
		return nil, 0, fmt.Errorf("write: %w", err)
	}

	// head is part of buf, which CopyBuffer now reuses. Neither src nor
	// dst implements WriterTo or ReaderFrom, so CopyBuffer does use buf.
	rest, err := io.CopyBuffer(dst, src, *buf)
	if err != nil {
		// Read and write errors are told apart by their own messages
		// (os.File write errors name the file).
		return nil, 0, fmt.Errorf("copy: %w", err)
	}
	size = int64(n) + rest
	if size > limit {
		return nil, 0, ErrTooLarge
	}
	return hash.Sum(nil), size, nil
}

// readHead reads from r until buf is full or r ends, and returns how many
// bytes it read. Unlike io.ReadFull, it reports an early io.EOF as a short
// read but passes on every other error, including io.ErrUnexpectedEOF from
// a cut-off upload, which must not be mistaken for a short one.
func readHead(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ctxReader reads from r until ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Open implements Store. The returned File is backed by an *os.File, so
// http.ServeContent can send it with sendfile(2).
func (l *Local) Open(ctx context.Context, key string) (File, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	if !validKey(key) {
		return nil, errInvalidKey("open blob")
	}
	_, name := l.paths(key)
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		// The blob is missing, unless the whole store is: a directory
		// removed or not mounted (then its tmp is gone too) is a store
		// that is down, not one that lost this blob.
		if err := l.Check(ctx); err != nil {
			return nil, fmt.Errorf("open blob %s: %w", key, err)
		}
		return nil, fmt.Errorf("open blob %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open blob %s: %w", key, err), f.Close())
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.Join(fmt.Errorf("open blob %s: not a regular file: %w", key, ErrNotFound), f.Close())
	}
	return &localFile{File: f, size: fi.Size(), modTime: fi.ModTime()}, nil
}

// Check reports whether the store answers: its directory and temporary
// directory exist and the directory can be read.
func (l *Local) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("check blob store: %w", err)
	}
	fi, err := os.Stat(l.tmp)
	if err != nil {
		return fmt.Errorf("check blob store: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("check blob store: %s is not a directory", l.tmp)
	}
	d, err := os.Open(l.dir)
	if err != nil {
		return fmt.Errorf("check blob store: %w", err)
	}
	_, err = d.Readdirnames(1)
	if cerr := d.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("check blob store: read %s: %w", l.dir, err)
	}
	return nil
}

// localFile is an open blob of a Local store. Embedding *os.File keeps its
// SyscallConn method visible, which lets net/http use sendfile(2).
type localFile struct {
	*os.File
	size    int64
	modTime time.Time
}

func (f *localFile) Size() int64        { return f.size }
func (f *localFile) ModTime() time.Time { return f.modTime }

// Delete implements Store.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	if !validKey(key) {
		return errInvalidKey("delete blob")
	}
	fanout, name := l.paths(key)
	err := os.Remove(name)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	// Best effort, as in Put. Empty fan-out directories are kept: removing
	// one could race with a Put about to rename a file into it.
	_ = syncDir(fanout)
	return nil
}

// paths returns the fan-out directory and the file name of the blob with
// the given key, which must be valid.
func (l *Local) paths(key string) (fanout, name string) {
	fanout = filepath.Join(l.dir, key[:2])
	return fanout, filepath.Join(fanout, key[2:])
}

// validKey reports whether key is a hex-encoded SHA-256: 64 lowercase hex
// digits. Such keys cannot contain path separators or dots, which rules out
// path traversal.
func validKey(key string) bool {
	if len(key) != 2*sha256.Size {
		return false
	}
	for i := range len(key) {
		if c := key[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// errInvalidKey returns an error matching both ErrInvalidKey and
// ErrNotFound. The key itself is left out: it may be hostile input.
func errInvalidKey(op string) error {
	return fmt.Errorf("%s: %w (%w)", op, ErrInvalidKey, ErrNotFound)
}

// mkdir creates dir unless it exists and reports whether it created it.
func mkdir(dir string) (bool, error) {
	err := os.Mkdir(dir, dirPerm)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

// syncDir flushes dir's entries (created, renamed or removed files) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	if err := d.Sync(); err != nil {
		return errors.Join(fmt.Errorf("sync directory: %w", err), d.Close())
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

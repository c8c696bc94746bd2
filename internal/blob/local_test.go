package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tim/internal/blob"
	"tim/internal/sniff"
	"tim/internal/sniff/snifftestdata"
)

// setup returns a new store in a fresh directory, and that directory.
func setup(t *testing.T) (*blob.Local, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	return s, dir
}

// randomBytes returns n pseudo-random bytes derived from seed.
func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	_, _ = rng.Read(b) // ChaCha8.Read never fails
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// files returns the paths, relative to dir, of the regular files under it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

// assertPristine fails unless dir holds nothing but the empty tmp directory.
func assertPristine(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && path != filepath.Join(dir, "tmp") {
			t.Errorf("left behind: %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
}

// assertTmpEmpty fails unless dir's tmp directory is empty.
func assertTmpEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatalf("read tmp: %v", err)
	}
	for _, e := range entries {
		t.Errorf("temporary file left behind: %s", e.Name())
	}
}

func TestPutOpenRoundTrip(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	ctx := t.Context()

	// Shorter than the head, exactly the head, and spanning several
	// copy buffers.
	for _, size := range []int{1, blob.HeadSize - 1, blob.HeadSize, blob.HeadSize + 1, 3<<20 + 7} {
		data := randomBytes(uint64(size), size)
		var gotHead []byte
		info, err := s.Put(ctx, bytes.NewReader(data), int64(size), func(head []byte) error {
			gotHead = bytes.Clone(head)
			return nil
		})
		if err != nil {
			t.Fatalf("size %d: Put: %v", size, err)
		}
		if want := data[:min(size, blob.HeadSize)]; !bytes.Equal(gotHead, want) {
			t.Errorf("size %d: check got %d bytes, want the first %d", size, len(gotHead), len(want))
		}
		want := blob.Info{Key: sha256Hex(data), Size: int64(size), SHA256: sha256Hex(data)}
		if info != want {
			t.Errorf("size %d: Put = %+v, want %+v", size, info, want)
		}
		if _, err := os.Stat(filepath.Join(dir, info.Key[:2], info.Key[2:])); err != nil {
			t.Errorf("size %d: blob not at its fan-out path: %v", size, err)
		}

		f, err := s.Open(ctx, info.Key)
		if err != nil {
			t.Fatalf("size %d: Open: %v", size, err)
		}
		got, err := io.ReadAll(f)
		if err != nil {
			t.Fatalf("size %d: read: %v", size, err)
		}
		if err := f.Close(); err != nil {
			t.Fatalf("size %d: close: %v", size, err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("size %d: read back %d bytes that differ from what was put", size, len(got))
		}
		if f.Size() != int64(size) || f.ModTime().IsZero() {
			t.Errorf("size %d: File.Size() = %d, ModTime() = %v", size, f.Size(), f.ModTime())
		}
	}
	assertTmpEmpty(t, dir)
}

func TestPutNilCheckAndUnlimited(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)

	data := []byte("no check, no limit")
	info, err := s.Put(t.Context(), bytes.NewReader(data), math.MaxInt64, nil)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if info.Size != int64(len(data)) {
		t.Errorf("Put size = %d, want %d", info.Size, len(data))
	}
}

func TestPutIdenticalContentStoredOnce(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	ctx := t.Context()
	data := snifftestdata.PNG()

	first, err := s.Put(ctx, bytes.NewReader(data), 1<<20, nil)
	if err != nil {
		t.Fatalf("first Put: %v", err)
	}
	second, err := s.Put(ctx, bytes.NewReader(data), 1<<20, nil)
	if err != nil {
		t.Fatalf("second Put: %v", err)
	}
	if first.Existed || !second.Existed {
		t.Errorf("Existed = %v then %v, want false then true", first.Existed, second.Existed)
	}
	first.Existed = true
	if first != second {
		t.Errorf("second Put = %+v, want %+v", second, first)
	}
	if got := files(t, dir); len(got) != 1 {
		t.Errorf("files = %v, want one", got)
	}
}

func TestPutConcurrentIdenticalContent(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	ctx := t.Context()
	data := randomBytes(42, 1<<20)

	const n = 16
	infos := make([]blob.Info, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			infos[i], errs[i] = s.Put(ctx, bytes.NewReader(data), int64(len(data)), nil)
		})
	}
	wg.Wait()

	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		if infos[i].Key != sha256Hex(data) || infos[i].Size != int64(len(data)) {
			t.Errorf("Put %d = %+v", i, infos[i])
		}
	}
	if got := files(t, dir); len(got) != 1 {
		t.Errorf("files = %v, want one", got)
	}
	f, err := s.Open(ctx, sha256Hex(data))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v; want the original %d", len(got), err, len(data))
	}
}

func TestPutLimit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	cases := []struct {
		name  string
		size  int
		limit int64
		want  error
	}{
		{"at limit", 1000, 1000, nil},
		{"one over", 1001, 1000, blob.ErrTooLarge},
		{"over within head", 100, 10, blob.ErrTooLarge},
		{"zero limit", 1, 0, blob.ErrTooLarge},
		{"at large limit", 1<<20 + 1, 1<<20 + 1, nil},
		{"over large limit", 3 << 20, 1 << 20, blob.ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, dir := setup(t)
			src := &countingReader{r: bytes.NewReader(randomBytes(7, tc.size))}
			_, err := s.Put(ctx, src, tc.limit, nil)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("Put = %v, want %v", err, tc.want)
			}
			if src.n > tc.limit+1 {
				t.Errorf("read %d bytes, more than limit+1 = %d", src.n, tc.limit+1)
			}
			if tc.want != nil {
				assertPristine(t, dir)
			} else {
				assertTmpEmpty(t, dir)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestPutNegativeLimit(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	if _, err := s.Put(t.Context(), strings.NewReader("x"), -1, nil); err == nil {
		t.Fatal("Put with negative limit succeeded")
	}
	assertPristine(t, dir)
}

func TestPutEmpty(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	called := false
	_, err := s.Put(t.Context(), strings.NewReader(""), 100, func([]byte) error {
		called = true
		return nil
	})
	if !errors.Is(err, blob.ErrEmpty) {
		t.Fatalf("Put = %v, want ErrEmpty", err)
	}
	if called {
		t.Error("check called for empty content")
	}
	assertPristine(t, dir)
}

func TestPutCheckRefuses(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	errRefused := errors.New("not an image")

	// The check sees only the head, and Put stops reading after it.
	src := &countingReader{r: bytes.NewReader(randomBytes(3, 10<<20))}
	_, err := s.Put(t.Context(), src, 100<<20, func(head []byte) error {
		if len(head) != blob.HeadSize {
			t.Errorf("check got %d bytes, want %d", len(head), blob.HeadSize)
		}
		return errRefused
	})
	if !errors.Is(err, errRefused) {
		t.Fatalf("Put = %v, want the check's error", err)
	}
	if src.n > 1<<20 {
		t.Errorf("Put read %d bytes after the check refused", src.n)
	}
	assertPristine(t, dir)
}

func TestPutWithSniff(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	checkImage := func(head []byte) error {
		if typ, _ := sniff.Detect(head); !sniff.Allowed(sniff.Image, typ) {
			return errors.New("not an image")
		}
		return nil
	}

	if _, err := s.Put(t.Context(), bytes.NewReader(snifftestdata.MP4(1<<20)), 2<<20, checkImage); err == nil {
		t.Fatal("Put of an MP4 as an image succeeded")
	}
	assertPristine(t, dir)
	if _, err := s.Put(t.Context(), bytes.NewReader(snifftestdata.JPEG()), 2<<20, checkImage); err != nil {
		t.Fatalf("Put of a JPEG as an image: %v", err)
	}
}

// The check must see the same number of bytes as sniff expects.
func TestHeadSizeMatchesSniff(t *testing.T) {
	t.Parallel()
	if blob.HeadSize != sniff.HeadSize {
		t.Fatalf("blob.HeadSize = %d, sniff.HeadSize = %d", blob.HeadSize, sniff.HeadSize)
	}
}

func TestPutReadError(t *testing.T) {
	t.Parallel()

	// A cut-off HTTP body reports io.ErrUnexpectedEOF; it must not pass for
	// a short blob, neither inside the head nor after it.
	for _, at := range []int{0, 100, blob.HeadSize + 100, 1 << 20} {
		s, dir := setup(t)
		src := io.MultiReader(bytes.NewReader(randomBytes(5, at)), errReader{io.ErrUnexpectedEOF})
		_, err := s.Put(t.Context(), src, 10<<20, nil)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut off after %d bytes: Put = %v, want io.ErrUnexpectedEOF", at, err)
		}
		assertPristine(t, dir)
	}
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestPutContextCancelled(t *testing.T) {
	t.Parallel()

	t.Run("before", func(t *testing.T) {
		t.Parallel()
		s, dir := setup(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.Put(ctx, strings.NewReader("data"), 100, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put = %v, want context.Canceled", err)
		}
		assertPristine(t, dir)
	})

	t.Run("during", func(t *testing.T) {
		t.Parallel()
		s, dir := setup(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		// Cancel once the upload is under way, past the head.
		src := &cancellingReader{r: bytes.NewReader(randomBytes(9, 4<<20)), after: 1 << 20, cancel: cancel}
		if _, err := s.Put(ctx, src, 10<<20, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put = %v, want context.Canceled", err)
		}
		assertPristine(t, dir)
	})
}

// cancellingReader calls cancel once more than after bytes were read.
type cancellingReader struct {
	r      io.Reader
	n      int
	after  int
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if c.n > c.after {
		c.cancel()
	}
	return n, err
}

func TestNewLocalRemovesStaleTemporaryFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tmp", "subdir"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tmp", "put-123"), []byte("half an upload"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-blob.StaleTemporary - time.Minute)
	for _, name := range []string{"subdir", "put-123"} {
		if err := os.Chtimes(filepath.Join(dir, "tmp", name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := blob.NewLocal(dir); err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	assertPristine(t, dir)
}

func TestNewLocalKeepsBlobs(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	info, err := s.Put(t.Context(), strings.NewReader("kept"), 100, nil)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	s2, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	f, err := s2.Open(t.Context(), info.Key)
	if err != nil {
		t.Fatalf("Open after restart: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewLocalEmptyDir(t *testing.T) {
	t.Parallel()
	if _, err := blob.NewLocal(""); err == nil {
		t.Fatal(`NewLocal("") succeeded`)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	ctx := t.Context()

	info, err := s.Put(ctx, strings.NewReader("short-lived"), 100, nil)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := s.Delete(ctx, info.Key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Open(ctx, info.Key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open after Delete = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, info.Key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files after Delete = %v", got)
	}
}

func TestOpenMissing(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	_, err := s.Open(t.Context(), sha256Hex([]byte("never stored")))
	if !errors.Is(err, blob.ErrNotFound) || errors.Is(err, blob.ErrInvalidKey) {
		t.Fatalf("Open = %v, want ErrNotFound only", err)
	}
}

func TestInvalidKeys(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	ctx := t.Context()

	valid := sha256Hex([]byte("x"))
	keys := []string{
		"",
		"tmp",
		"..",
		"../../etc/passwd",
		valid[:63],
		valid + "0",
		strings.ToUpper(valid),
		valid[:62] + "/x",
		"../" + valid[3:],
		valid[:2] + "/" + valid[3:],
		strings.Repeat("g", 64),
		valid[:63] + "\x00",
	}
	for _, key := range keys {
		if _, err := s.Open(ctx, key); !errors.Is(err, blob.ErrInvalidKey) || !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrInvalidKey and ErrNotFound", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) || !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey and ErrNotFound", key, err)
		}
	}
	assertPristine(t, dir)
}

func TestServeContent(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	ctx := t.Context()
	data := snifftestdata.MP4(64 << 10)

	info, err := s.Put(ctx, bytes.NewReader(data), 1<<20, nil)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	f, err := s.Open(ctx, info.Key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()

	req := httptest.NewRequest(http.MethodGet, "/media/x.mp4", nil)
	req.Header.Set("Range", "bytes=100-199")
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", sniff.TypeMP4) // as sniffed at upload
	http.ServeContent(rec, req, "x.mp4", f.ModTime(), f)

	if rec.Code != http.StatusPartialContent {
		t.Fatalf("status = %d, want 206", rec.Code)
	}
	if got := rec.Body.Bytes(); !bytes.Equal(got, data[100:200]) {
		t.Errorf("body = %d bytes that differ from the requested range", len(got))
	}
	if got := rec.Header().Get("Content-Type"); got != sniff.TypeMP4 {
		t.Errorf("Content-Type = %q, want %q", got, sniff.TypeMP4)
	}
}

package blob_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tim/internal/blob"
)

// A second store opened on a directory while the first has an upload in
// flight (an instance starting beside another on a shared directory) leaves
// that upload alone: it completes and its blob reads back.
func TestNewLocalKeepsAnotherProcesssUploadInFlight(t *testing.T) {
	t.Parallel()
	first, dir := setup(t)
	content := randomBytes(23, 3*blob.HeadSize)

	pr, pw := io.Pipe()
	type result struct {
		info blob.Info
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info, err := first.Put(context.Background(), pr, 1<<20, nil)
		done <- result{info, err}
	}()
	// Once the head is written, the upload's temporary file holds it.
	if _, err := pw.Write(content[:2*blob.HeadSize]); err != nil {
		t.Fatal(err)
	}
	if n := len(tmpEntries(t, dir)); n != 1 {
		t.Fatalf("temporary files during the upload: %d, want 1", n)
	}

	if _, err := blob.NewLocal(dir); err != nil {
		t.Fatalf("second NewLocal: %v", err)
	}
	if n := len(tmpEntries(t, dir)); n != 1 {
		t.Fatalf("temporary files after the second store opened: %d, want the upload's", n)
	}

	if _, err := pw.Write(content[2*blob.HeadSize:]); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Put on the first store: %v", r.err)
	}
	f, err := first.Open(context.Background(), r.info.Key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("read back %d bytes, want the %d uploaded", len(got), len(content))
	}
	assertTmpEmpty(t, dir)
}

// Temporary files younger than StaleTemporary survive a store's start;
// older ones are removed.
func TestNewLocalRemovesOnlyStaleTemporaryFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"put-fresh", "put-young", "put-old"} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte("part of an upload"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	young := time.Now().Add(-blob.StaleTemporary + time.Hour)
	old := time.Now().Add(-blob.StaleTemporary - time.Hour)
	if err := os.Chtimes(filepath.Join(tmp, "put-young"), young, young); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(tmp, "put-old"), old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := blob.NewLocal(dir); err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	got := tmpEntries(t, dir)
	if len(got) != 2 || got[0] != "put-fresh" || got[1] != "put-young" {
		t.Fatalf("temporary files after start: %q, want put-fresh and put-young", got)
	}
}

// tmpEntries returns the names in dir's temporary directory, sorted.
func tmpEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatalf("read tmp: %v", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

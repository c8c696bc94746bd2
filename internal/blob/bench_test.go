package blob_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"tim/internal/blob"
)

// benchSize is the size of the uploads the benchmarks write.
const benchSize = 100 << 20

// BenchmarkPut100MiB measures Put end to end: streaming, hashing, fsync and
// rename. Each iteration stores distinct content so that none is
// deduplicated; deleting it again is not timed.
func BenchmarkPut100MiB(b *testing.B) {
	s, err := blob.NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	data := randomBytes(1, benchSize)
	ctx := b.Context()
	b.SetBytes(benchSize)
	for i := uint64(0); b.Loop(); i++ {
		binary.LittleEndian.PutUint64(data, i)
		info, err := s.Put(ctx, bytes.NewReader(data), benchSize, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.Delete(ctx, info.Key); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkCopyBaseline100MiB is the floor for BenchmarkPut100MiB: a plain
// io.Copy of the same bytes to a new file in the same kind of directory,
// without hashing or fsync.
func BenchmarkCopyBaseline100MiB(b *testing.B) {
	benchmarkCopy(b, false)
}

// BenchmarkCopySyncBaseline100MiB is BenchmarkCopyBaseline100MiB plus the
// fsync that Put does, to tell the cost of durability from that of hashing.
func BenchmarkCopySyncBaseline100MiB(b *testing.B) {
	benchmarkCopy(b, true)
}

func benchmarkCopy(b *testing.B, sync bool) {
	name := filepath.Join(b.TempDir(), "copy")
	data := randomBytes(1, benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		f, err := os.Create(name)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		if sync {
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.Remove(name); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

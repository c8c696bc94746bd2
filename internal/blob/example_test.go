package blob_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"tim/internal/blob"
	"tim/internal/sniff"
	"tim/internal/sniff/snifftestdata"
)

// Put refuses content whose head does not sniff as an allowed type, before
// reading the rest of it.
func ExampleLocal_Put() {
	dir, err := os.MkdirTemp("", "blob-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := blob.NewLocal(dir)
	if err != nil {
		log.Fatal(err)
	}

	var contentType string
	checkImage := func(head []byte) error {
		contentType, _ = sniff.Detect(head)
		if !sniff.Allowed(sniff.Image, contentType) {
			return errors.New("not an image")
		}
		return nil
	}

	ctx := context.Background()
	info, err := store.Put(ctx, bytes.NewReader(snifftestdata.BMP()), 10<<20, checkImage)
	fmt.Println(contentType, info.Size, err)

	_, err = store.Put(ctx, bytes.NewReader(snifftestdata.MP3(10)), 10<<20, checkImage)
	fmt.Println(contentType, err)
	// Output:
	// image/bmp 78 <nil>
	// audio/mpeg put blob: not an image
}

package media_test

import (
	"context"
	"fmt"
	"testing"

	"tim/internal/sniff/snifftestdata"
)

// TestPictureDimensionsStored: a picture's row holds its dimensions as
// shown, read while it streamed in, also for a camera JPEG whose frame
// header lies past its first 40 KB; audio and video rows hold none.
func TestPictureDimensionsStored(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name string
		op   op
		data []byte
		w, h int32 // 0: none
	}{
		{"png", opChatPic, snifftestdata.PNG(), 8, 8},
		{"bmp", opChatPic, snifftestdata.BMP(), 3, 2},
		{"camera jpeg turned", opChatPic, snifftestdata.JPEGWithExif(64, 48, 6, 40000), 48, 64},
		{"avatar jpeg", opHeadPic, snifftestdata.JPEG(), 16, 16},
		{"mp3", opMP3, snifftestdata.MP3(20), 0, 0},
		{"mp4", opMP4, snifftestdata.MP4(4096), 0, 0},
	}
	for _, tt := range tests {
		name := b.mustUpload(t, tt.op, "f", tt.data)
		var w, h *int32
		if err := b.pool.QueryRow(context.Background(), "SELECT width, height FROM media WHERE name = $1", name).Scan(&w, &h); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		switch {
		case tt.w == 0 && (w != nil || h != nil):
			t.Errorf("%s: dimensions %s×%s stored, want none", tt.name, show(w), show(h))
		case tt.w != 0 && (w == nil || h == nil || *w != tt.w || *h != tt.h):
			t.Errorf("%s: dimensions %s×%s; want %d×%d", tt.name, show(w), show(h), tt.w, tt.h)
		}
	}
}

func show(v *int32) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(*v)
}

package media_test

import (
	"context"
	"fmt"
	"testing"

	"tim/internal/sniff/snifftestdata"
	"tim/internal/store"
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
		kind string // the media row's
		data []byte
		w, h int32 // 0: none
	}{
		{"png", opChatPic, "chatpic", snifftestdata.PNG(), 8, 8},
		{"bmp", opChatPic, "chatpic", snifftestdata.BMP(), 3, 2},
		{"camera jpeg turned", opChatPic, "chatpic", snifftestdata.JPEGWithExif(64, 48, 6, 40000), 48, 64},
		{"avatar jpeg", opHeadPic, "avatar", snifftestdata.JPEG(), 16, 16},
		{"mp3", opMP3, "mp3", snifftestdata.MP3(20), 0, 0},
		{"mp4", opMP4, "mp4", snifftestdata.MP4(4096), 0, 0},
	}
	st, err := store.Open(context.Background(), b.env.Config.DatabaseURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	for _, tt := range tests {
		name := b.mustUpload(t, tt.op, "f", tt.data)
		m, err := st.MediaGetByNameAndKind(context.Background(), name, tt.kind)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if m.Width != tt.w || m.Height != tt.h {
			t.Errorf("%s: dimensions %s×%s; want %s×%s", tt.name, show(m.Width), show(m.Height), show(tt.w), show(tt.h))
		}
	}
}

func show(v int32) string {
	if v == 0 {
		return "none"
	}
	return fmt.Sprint(v)
}

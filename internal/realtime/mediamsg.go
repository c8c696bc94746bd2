package realtime

import (
	"errors"
	"net/http"

	"tim/internal/messages"
)

// mediaRefusal is the error frame's code and message for a media send
// refused because its name is unknown (messages.ErrNoMedia) or of another kind
// (messages.ErrWrongMedia) than the send's kind k.
func mediaRefusal(err error, k string) (int32, string) {
	if errors.Is(err, messages.ErrNoMedia) {
		return http.StatusNotFound, "文件不存在"
	}
	switch k {
	case messages.KindImage:
		return http.StatusBadRequest, "该文件不是图片"
	case messages.KindAudio:
		return http.StatusBadRequest, "该文件不是MP3音频"
	}
	return http.StatusBadRequest, "该文件不是MP4视频"
}

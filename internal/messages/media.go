package messages

import (
	"net/url"

	"tim/gen/models"
	"tim/internal/store"
)

// Media describes the file of a media message, as its media row held it
// when the message was committed.
type Media = store.MessageMedia

// mediaSource is where the uploads of one message kind come from: the
// kind of their rows in the media table (the upload endpoint's) and the
// path that downloads them.
type mediaSource struct {
	kind     string // media.kind
	download string
}

var mediaSources = map[string]mediaSource{
	KindImage: {kind: "chatpic", download: "/downloadchatpic"},
	KindAudio: {kind: "mp3", download: "/downloadmp3"},
	KindVideo: {kind: "mp4", download: "/downloadmp4"},
}

// mediaKind is the media table's kind of the uploads a message of kind k
// names, or "" for a kind that names none (text).
func mediaKind(k string) string { return mediaSources[k].kind }

// mediaInfo is m as the media field of the frame of a message of kind k
// whose body is the stored name.
func mediaInfo(m *Media, k, name string) *models.MediaInfo {
	src, ok := mediaSources[k]
	if !ok {
		return nil
	}
	out := &models.MediaInfo{
		Url:  src.download + "?filename=" + url.QueryEscape(name),
		Mime: models.MediaInfoMime(m.Type),
		Size: m.Size,
	}
	if m.Width > 0 && m.Height > 0 {
		w, h := m.Width, m.Height
		out.Width, out.Height = &w, &h
	}
	return out
}

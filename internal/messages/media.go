package messages

import "tim/internal/store"

// Media describes the file of a media message, as its media row held it
// when the message was committed.
type Media = store.MessageMedia

// mediaKinds is the kind of the media table's rows (the upload endpoint's)
// that messages of each media kind name; the frames name the path that
// downloads them.
var mediaKinds = map[string]string{
	KindImage: "chatpic",
	KindAudio: "mp3",
	KindVideo: "mp4",
}

// mediaKind is the media table's kind of the uploads a message of kind k
// names, or "" for a kind that names none (text).
func mediaKind(k string) string { return mediaKinds[k] }

// Package sniff identifies uploaded media from its first bytes.
//
// The server trusts neither file names nor client-supplied Content-Type
// headers: it reads the head of an upload, asks Detect what it is, and asks
// Allowed whether that type is acceptable for the kind of upload at hand.
// Only the handful of formats Tim accepts are recognised: JPEG, PNG and BMP
// images, MP3 audio and MP4 video. Everything else is reported as unknown.
//
// Detection is deliberately a little stricter than "magic number" sniffing
// (for example, bare MP3 frames must be followed by a second valid frame), so
// that random or hostile data is unlikely to pass. It is not a full parser:
// a file that passes Detect may still fail to decode.
package sniff

// HeadSize is how many leading bytes Detect looks at. Callers should pass
// the first HeadSize bytes of the content, or all of it when it is shorter.
// Detect still works with less (at least 512 bytes is recommended), but some
// cross-checks are skipped when the bytes they need are missing.
const HeadSize = 4096

// Kind is a category of upload, each accepting a fixed set of types.
type Kind string

// The kinds of upload the server accepts.
const (
	Image Kind = "image" // JPEG, PNG or BMP
	Audio Kind = "audio" // MP3
	Video Kind = "video" // MP4
)

// Content types returned by Detect.
const (
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
	TypeBMP  = "image/bmp"
	TypeMP3  = "audio/mpeg"
	TypeMP4  = "video/mp4"
)

// Detect reports the content type and the conventional file extension
// (with a leading dot) of the content whose first bytes are head, or two
// empty strings when it is none of the supported formats. Bytes beyond
// HeadSize are ignored. Detect never panics, whatever head holds.
func Detect(head []byte) (contentType string, ext string) {
	if len(head) > HeadSize {
		head = head[:HeadSize]
	}
	// The order matters only for readability: the signatures are disjoint
	// (JPEG starts FF D8, which is not an MPEG frame sync).
	switch {
	case isJPEG(head):
		return TypeJPEG, ".jpg"
	case isPNG(head):
		return TypePNG, ".png"
	case isBMP(head):
		return TypeBMP, ".bmp"
	case isMP4(head):
		return TypeMP4, ".mp4"
	case isMP3(head):
		return TypeMP3, ".mp3"
	}
	return "", ""
}

// Allowed reports whether contentType, as returned by Detect, is acceptable
// for an upload of the given kind. Unknown kinds allow nothing.
func Allowed(kind Kind, contentType string) bool {
	switch kind {
	case Image:
		return contentType == TypeJPEG || contentType == TypePNG || contentType == TypeBMP
	case Audio:
		return contentType == TypeMP3
	case Video:
		return contentType == TypeMP4
	}
	return false
}

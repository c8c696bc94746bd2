package frame

import (
	"net/url"
	"time"

	"tim/gen/models"
)

// RecallEvent is the kind of a stored recall event: written as a recall
// frame, never sent by a client.
const RecallEvent = "recall"

// Message is a committed message as frames show it: the fields of the
// stored message they carry.
type Message struct {
	ID          int64
	Seq         int64
	Sender      string
	Recipient   string // direct messages only
	GroupID     int64  // group messages only
	Kind        string
	Body        string // text, or a media message's stored file name
	ClientMsgID string
	Time        time.Time
	Media       *Media // media kinds, unless recalled
	Recalled    bool   // the sender recalled it: Body is empty, Media nil
	Recalls     int64  // kind recall: the recalled message's id
}

// Media describes the file of a media message.
type Media struct {
	Type          string // content type
	Size          int64  // bytes
	Width, Height int32  // pictures only; 0 when unknown
}

// downloads is the path that downloads the file of a message of each media
// kind.
var downloads = map[string]string{
	string(models.MessageKindImage): "/downloadchatpic",
	string(models.MessageKindAudio): "/downloadmp3",
	string(models.MessageKindVideo): "/downloadmp4",
}

// MessageOf is m as the message frame clients receive; a group event
// (kind GroupEventKind) as history lists it, a text from its actor
// carrying the event frame.
func MessageOf(m Message) models.MessageFrame {
	if m.Kind == GroupEventKind {
		return historyEvent(m)
	}
	f := models.MessageFrame{
		Type: models.MessageFrameTypeMessage, Id: m.ID, Seq: m.Seq, FromUser: m.Sender,
		Message: m.Body, Kind: models.MessageKind(m.Kind), Time: m.Time,
	}
	f.To, f.GroupId, f.ClientMsgId = names(&m)
	if m.Recalled {
		recalled := true
		f.Recalled = &recalled
	} else if m.Media != nil {
		f.Media = mediaInfo(m.Media, m.Kind, m.Body)
	}
	return f
}

// RecallOf is m, a recall event (kind RecallEvent), as the recall frame
// clients receive.
func RecallOf(m Message) models.RecallFrame {
	f := models.RecallFrame{Type: models.RecallFrameTypeRecall, Id: m.Recalls, Seq: m.Seq, By: m.Sender, Time: m.Time}
	if m.GroupID != 0 {
		gid := m.GroupID
		f.GroupId = &gid
	} else {
		with := m.Recipient
		f.With = &with
	}
	return f
}

// AckOf is the ack of m; a media message's carries its media, since the
// sending socket gets no message frame of it.
func AckOf(m Message) models.AckFrame {
	f := models.AckFrame{Type: "ack", Id: m.ID, Seq: m.Seq, Time: m.Time}
	f.To, f.GroupId, f.ClientMsgId = names(&m)
	if m.Media != nil && !m.Recalled {
		f.Media = mediaInfo(m.Media, m.Kind, m.Body)
	}
	return f
}

// names is how frames name m's conversation and client id: exactly one of
// to (the recipient) and groupID, and clientMsgID when the sender gave one.
func names(m *Message) (to *string, groupID *int64, clientMsgID *string) {
	if m.GroupID != 0 {
		gid := m.GroupID
		groupID = &gid
	} else {
		r := m.Recipient
		to = &r
	}
	if m.ClientMsgID != "" {
		id := m.ClientMsgID
		clientMsgID = &id
	}
	return to, groupID, clientMsgID
}

// mediaInfo is m as the media field of the frame of a message of kind k
// whose body is the stored name.
func mediaInfo(m *Media, k, name string) *models.MediaInfo {
	download, ok := downloads[k]
	if !ok {
		return nil
	}
	out := &models.MediaInfo{
		Url:  download + "?filename=" + url.QueryEscape(name),
		Mime: models.MediaInfoMime(m.Type),
		Size: m.Size,
	}
	if m.Width > 0 && m.Height > 0 {
		w, h := m.Width, m.Height
		out.Width, out.Height = &w, &h
	}
	return out
}

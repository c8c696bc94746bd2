package messages

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"tim/internal/realtime/frame"
	"tim/internal/reply"
	"tim/internal/store"
)

// media stores a media row of kind (avatar, chatpic, mp3, mp4) owned by a,
// as an upload would, and returns its name: 1234 bytes, and 640×480 for
// pictures.
func (f fixture) media(t *testing.T, kind, contentType string) string {
	t.Helper()
	return f.mediaOf(t, "a", kind, contentType)
}

// mediaOf is media owned by owner.
func (f fixture) mediaOf(t *testing.T, owner, kind, contentType string) string {
	t.Helper()
	var b [16]byte
	_, _ = rand.Read(b[:])
	m := store.Medium{
		Name: time.Now().UTC().Format("2006-01-02:15:04:05") + "-" + hex.EncodeToString(b[:]), Kind: kind, Owner: owner,
		Size: 1234, ContentType: contentType, SHA256: hex.EncodeToString(b[:]), CreatedAt: time.Now(),
	}
	if kind == "chatpic" || kind == "avatar" {
		m.Width, m.Height = 640, 480
	}
	if err := f.store(t).MediaInsert(f.ctx, m); err != nil {
		t.Fatal(err)
	}
	return m.Name
}

// TestCommitterChecksMedia: in one batch, a media send naming no upload or
// an upload of another kind is refused and stores nothing (the allowed
// sends around it take gap-free seqs); an allowed media send carries its
// upload's description, published, acknowledged and read back; a refused
// friendship wins over a bad name; a name another account uploaded is
// refused.
func TestCommitterChecksMedia(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := &recorder{gate: make(chan struct{}), held: make(chan struct{})}
	c := newCommitter(t, f.store(t), r, f.log)
	pic, mp3, mp4 := f.media(t, "chatpic", "image/jpeg"), f.media(t, "mp3", "audio/mpeg"), f.media(t, "mp4", "video/mp4")
	avatar := f.media(t, "avatar", "image/png")
	mp4b, picB := f.mediaOf(t, "b", "mp4", "video/mp4"), f.mediaOf(t, "b", "chatpic", "image/png")
	sends := []Send{
		{Sender: "a", To: "b", Kind: KindImage, Body: pic},
		{Sender: "a", To: "b", Kind: KindImage, Body: "2024-01-01:00:00:00-00000000000000000000000000000000"},
		{Sender: "a", To: "b", Kind: KindImage, Body: mp3},
		{Sender: "a", To: "b", Kind: KindImage, Body: avatar},
		{Sender: "a", To: "b", Kind: KindAudio, Body: mp4},
		{Sender: "a", To: "b", Kind: KindVideo, Body: pic},
		{Sender: "a", To: "b", Kind: KindText, Body: pic}, // a text that looks like a name
		{Sender: "a", To: "b", Kind: KindAudio, Body: mp3},
		{Sender: "b", GroupID: 1, Kind: KindVideo, Body: mp4b},
		{Sender: "a", To: "c", Kind: KindImage, Body: "no such name"}, // not friends
		{Sender: "a", To: "b", Kind: KindImage, Body: picB},           // b's upload
		{Sender: "b", GroupID: 1, Kind: KindVideo, Body: mp4},         // a's upload
	}
	// A first send holds the committer in its publish while the others
	// queue, so that they make one batch.
	first := make(chan result, 1)
	c.SendAsync(Send{Sender: "b", To: "a", Body: "first"}, func(m Message, err error) { first <- result{m, err} })
	<-r.held
	wait := queueAll(t, c, sends)
	close(r.gate)
	if res := <-first; res.err != nil {
		t.Fatal(res.err)
	}
	res := wait()
	if len(r.batches) != 2 {
		t.Errorf("%d batches, want 2", len(r.batches))
	}
	wantErr := []error{nil, reply.FileNotFound, reply.NotImageFile, reply.NotImageFile, reply.NotMP3File, reply.NotMP4File, nil, nil, nil, reply.NotFriends, reply.NotOwnUpload, reply.NotOwnUpload}
	for i, want := range wantErr {
		if !errors.Is(res[i].err, want) {
			t.Errorf("send %d (%s %q): err %v, want %v", i, sends[i].Kind, sends[i].Body, res[i].err, want)
		}
	}
	if res[0].m.Seq != 2 || res[6].m.Seq != 3 || res[7].m.Seq != 4 || res[8].m.Seq != 1 {
		t.Errorf("seqs %d %d %d, group %d; want 2 3 4, group 1", res[0].m.Seq, res[6].m.Seq, res[7].m.Seq, res[8].m.Seq)
	}
	want := map[int]Media{
		0: {Type: "image/jpeg", Size: 1234, Width: 640, Height: 480},
		7: {Type: "audio/mpeg", Size: 1234},
		8: {Type: "video/mp4", Size: 1234},
	}
	for i, w := range want {
		if m := res[i].m.Media; m == nil || *m != w {
			t.Errorf("send %d: acknowledged media %+v, want %+v", i, m, w)
		}
	}
	if res[6].m.Media != nil {
		t.Errorf("text send has media %+v", res[6].m.Media)
	}
	if got := len(r.all()); got != 5 {
		t.Errorf("published %d messages, want 5", got)
	}

	st := NewReader(f.store(t))
	stored, err := st.After(f.ctx, DirectKey("a", "b"), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 4 || stored[1].Body != pic || stored[2].Kind != KindText || stored[3].Body != mp3 {
		t.Fatalf("stored %+v", stored)
	}
	stored = stored[1:]
	fr := frame.MessageOf(stored[0].Framed())
	if fr.Media == nil || fr.Media.Url != "/downloadchatpic?filename="+urlEscape(pic) || fr.Media.Mime != "image/jpeg" ||
		fr.Media.Size != 1234 || fr.Media.Width == nil || *fr.Media.Width != 640 || *fr.Media.Height != 480 {
		t.Errorf("image frame media %+v", fr.Media)
	}
	if fr := frame.MessageOf(stored[2].Framed()); fr.Media == nil || fr.Media.Url != "/downloadmp3?filename="+urlEscape(mp3) || fr.Media.Width != nil {
		t.Errorf("audio frame media %+v", fr.Media)
	}
	if fr := frame.MessageOf(stored[1].Framed()); fr.Media != nil {
		t.Errorf("text frame media %+v", fr.Media)
	}
	if g, err := st.After(f.ctx, GroupKey(1), 0, 100); err != nil || len(g) != 1 || frame.MessageOf(g[0].Framed()).Media.Url != "/downloadmp4?filename="+urlEscape(mp4b) {
		t.Errorf("group messages %+v, %v", g, err)
	}
}

func urlEscape(name string) string {
	out := []byte{}
	for i := range len(name) {
		if name[i] == ':' {
			out = append(out, "%3A"...)
		} else {
			out = append(out, name[i])
		}
	}
	return string(out)
}

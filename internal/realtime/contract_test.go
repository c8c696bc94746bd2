package realtime

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"tim/gen/models"
)

// frameTypes are the generated Go types of every frame, by schema name.
var frameTypes = map[string]reflect.Type{
	"ConnectedFrame":           reflect.TypeFor[models.ConnectedFrame](),
	"UsersFrame":               reflect.TypeFor[models.UsersFrame](),
	"MessageFrame":             reflect.TypeFor[models.MessageFrame](),
	"AckFrame":                 reflect.TypeFor[models.AckFrame](),
	"ErrorFrame":               reflect.TypeFor[models.ErrorFrame](),
	"PresenceFrame":            reflect.TypeFor[models.PresenceFrame](),
	"GroupPresenceFrame":       reflect.TypeFor[models.GroupPresenceFrame](),
	"GroupOnlineFrame":         reflect.TypeFor[models.GroupOnlineFrame](),
	"LegacySendFrame":          reflect.TypeFor[models.LegacySendFrame](),
	"SendFrame":                reflect.TypeFor[models.SendFrame](),
	"AckClientFrame":           reflect.TypeFor[models.AckClientFrame](),
	"SyncFrame":                reflect.TypeFor[models.SyncFrame](),
	"ReadFrame":                reflect.TypeFor[models.ReadFrame](),
	"ReceiptFrame":             reflect.TypeFor[models.ReceiptFrame](),
	"TypingClientFrame":        reflect.TypeFor[models.TypingClientFrame](),
	"TypingFrame":              reflect.TypeFor[models.TypingFrame](),
	"RecallFrame":              reflect.TypeFor[models.RecallFrame](),
	"RecallClientFrame":        reflect.TypeFor[models.RecallClientFrame](),
	"EventFrame":               reflect.TypeFor[models.EventFrame](),
	"JoinRequestFrame":         reflect.TypeFor[models.JoinRequestFrame](),
	"JoinRequestAnsweredFrame": reflect.TypeFor[models.JoinRequestAnsweredFrame](),
	"FriendRequestFrame":       reflect.TypeFor[models.FriendRequestFrame](),
	"FriendAddedFrame":         reflect.TypeFor[models.FriendAddedFrame](),
	"FriendRemovedFrame":       reflect.TypeFor[models.FriendRemovedFrame](),
	"GroupRemovedFrame":        reflect.TypeFor[models.GroupRemovedFrame](),
}

// TestAsyncAPIMatchesGeneratedTypes fails on drift between asyncapi.yaml,
// the schemas of openapi.yaml and the generated Go frame types.
func TestAsyncAPIMatchesGeneratedTypes(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../api/asyncapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\$ref: '\./openapi\.yaml#/components/schemas/(\w+)'`)
	spec := loadSpec(t)
	var referenced []string
	for _, m := range re.FindAllStringSubmatch(string(doc), -1) {
		// A channel's server frames are one tagged union: check its members.
		if ref := spec.Components.Schemas[m[1]]; ref != nil && len(ref.Value.OneOf) > 0 {
			if d := ref.Value.Discriminator; d == nil || d.PropertyName != "type" || len(d.Mapping) != len(ref.Value.OneOf) {
				t.Errorf("%s: a oneOf without a complete discriminator on type", m[1])
			}
			for _, member := range ref.Value.OneOf {
				referenced = append(referenced, member.Ref[strings.LastIndex(member.Ref, "/")+1:])
			}
			continue
		}
		referenced = append(referenced, m[1])
	}
	sort.Strings(referenced)
	referenced = slices.Compact(referenced)
	var want []string
	for name := range frameTypes {
		want = append(want, name)
	}
	sort.Strings(want)
	if !slices.Equal(referenced, want) {
		t.Fatalf("asyncapi.yaml references %v, the server uses %v", referenced, want)
	}
	for _, name := range referenced {
		ref := spec.Components.Schemas[name]
		if ref == nil {
			t.Errorf("%s: not in openapi.yaml components", name)
			continue
		}
		if ref.Value.Title != name {
			t.Errorf("%s: title %q, want the schema's name", name, ref.Value.Title)
		}
		var props []string
		for p := range ref.Value.Properties {
			props = append(props, p)
		}
		sort.Strings(props)
		if fields := jsonFields(frameTypes[name]); !slices.Equal(props, fields) {
			t.Errorf("%s: schema properties %v, Go fields %v: run make generate-api", name, props, fields)
		}
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// fakeTransport records what the writer wrote.
type fakeTransport struct {
	frames chan []byte
	closes chan int
	pings  chan string // nil: not recorded
}

func (f *fakeTransport) WriteBatch(frames []outFrame, _ time.Time) error {
	for _, fr := range frames {
		if fr.data != nil {
			f.frames <- fr.data
		}
	}
	return nil
}
func (f *fakeTransport) WritePing(data []byte, _ time.Time) error {
	if f.pings != nil {
		f.pings <- string(data)
	}
	return nil
}
func (f *fakeTransport) WritePong([]byte, time.Time) error { return nil }
func (f *fakeTransport) WriteClose(code int, _ string, _ time.Time) error {
	f.closes <- code
	return nil
}
func (f *fakeTransport) Close() error { return nil }

type fakeHooks struct {
	catchUps chan *socket
	confirms chan map[string]int64 // nil: not recorded
}

func (h fakeHooks) confirmed(_ *socket, seqs map[string]int64) {
	if h.confirms != nil {
		h.confirms <- seqs
	}
}
func (h fakeHooks) startCatchUp(s *socket) { h.catchUps <- s }

// TestHubOrderAndOverflow drives the hub and a socket through a fake
// transport: repeats are dropped, a gap is handed to catch-up, and a full
// queue closes the socket as a slow consumer.
func TestHubOrderAndOverflow(t *testing.T) {
	t.Parallel()
	ft := &fakeTransport{frames: make(chan []byte, 100), closes: make(chan int, 1)}
	hooks := fakeHooks{catchUps: make(chan *socket, 1)}
	s := newSocket(ft, hooks, socketOptions{queueBytes: 3, writeTimeout: time.Second, closeTimeout: time.Second, pingInterval: time.Hour, confirmDelay: time.Hour})
	s.account, s.ch = "b", channelUser
	s.replaying = false
	h := newHub()
	h.add(s, nil)
	w := func(seq int64) *wireMessage {
		return &wireMessage{Conv: "d:a:b", Seq: seq, Sender: "a", Recipient: "b", Frame: []byte{byte('0' + seq)}}
	}
	h.deliverMessage("", w(1), nil)
	h.deliverMessage("", w(1), nil) // repeat: dropped
	h.deliverMessage("", w(2), nil)
	h.deliverMessage("", w(4), nil) // gap: handed to catch-up, not queued
	select {
	case <-hooks.catchUps:
	default:
		t.Fatal("gap did not start a catch-up")
	}
	h.deliverMessage("", w(5), nil) // while catching up: remembered only
	s.dmu.Lock()
	st := *s.convs["d:a:b"]
	s.dmu.Unlock()
	if st.last != 2 || !st.catching || st.maxSeen != 5 {
		t.Fatalf("state %+v", st)
	}
	// Overflow: the queue holds 3 bytes and nobody writes them yet.
	for range 4 {
		s.sendControl([]byte("x"))
	}
	close(s.readerDone)
	go s.writeLoop()
	if code := <-ft.closes; code != CloseSlowConsumer {
		t.Fatalf("close code %d", code)
	}
	<-s.writerDone
}

// TestPongConfirmsWrittenFrames: without ack mode, message frames count as
// delivered only when the pong of a ping written after them arrives; a pong
// of an earlier ping, or none, confirms nothing.
func TestPongConfirmsWrittenFrames(t *testing.T) {
	t.Parallel()
	ft := &fakeTransport{frames: make(chan []byte, 100), closes: make(chan int, 1), pings: make(chan string, 10)}
	hooks := fakeHooks{catchUps: make(chan *socket, 1), confirms: make(chan map[string]int64, 10)}
	s := newSocket(ft, hooks, socketOptions{queueBytes: 1 << 20, writeTimeout: time.Second, closeTimeout: time.Second, pingInterval: time.Hour, confirmDelay: 10 * time.Millisecond})
	s.account, s.ch = "b", channelUser
	go s.writeLoop()
	defer func() {
		s.disconnect(disconnectNormal)
		close(s.readerDone)
		<-s.writerDone
	}()
	nextPing := func() string {
		t.Helper()
		select {
		case p := <-ft.pings:
			return p
		case <-time.After(wait):
			t.Fatal("no confirming ping")
		}
		return ""
	}
	s.enqueue(outFrame{data: []byte("m1"), conv: "d:a:b", seq: 1})
	s.enqueue(outFrame{data: []byte("m2"), conv: "g:7", seq: 4})
	first := nextPing()
	s.enqueue(outFrame{data: []byte("m3"), conv: "d:a:b", seq: 2})
	second := nextPing()
	select {
	case c := <-hooks.confirms:
		t.Fatalf("confirmed %v before any pong", c)
	default:
	}
	s.ponged([]byte("not a ping number"))
	s.ponged([]byte(first))
	if c := <-hooks.confirms; len(c) != 2 || c["d:a:b"] != 1 || c["g:7"] != 4 {
		t.Fatalf("first pong confirmed %v, want d:a:b 1 and g:7 4", c)
	}
	s.ponged([]byte(first)) // a repeat confirms nothing more
	s.ponged([]byte(second))
	if c := <-hooks.confirms; len(c) != 1 || c["d:a:b"] != 2 {
		t.Fatalf("second pong confirmed %v, want d:a:b 2", c)
	}
	select {
	case c := <-hooks.confirms:
		t.Fatalf("unexpected confirmation %v", c)
	default:
	}
}

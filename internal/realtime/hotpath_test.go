package realtime

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tim/internal/messages"
	"tim/internal/realtime/frame"
)

// benchSocket is a server socket over a real loopback WebSocket, whose
// client counts the message frames it reads.
type benchSocket struct {
	so       *socket
	client   *websocket.Conn
	mu       sync.Mutex
	messages int
	more     *sync.Cond
}

// openBenchSockets opens n server sockets of account accounts[i] on the user
// channel, registered in h, each with a client reading it.
func openBenchSockets(b *testing.B, h *hub, accounts ...string) []*benchSocket {
	b.Helper()
	conns := make(chan *websocket.Conn, 1)
	raws := make(chan *coalescingConn, 1)
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hw := &hijackWrapper{ResponseWriter: w}
		c, err := up.Upgrade(hw, r, nil)
		if err != nil {
			b.Error(err)
			return
		}
		conns <- c
		raws <- hw.conn
	}))
	b.Cleanup(srv.Close)
	var out []*benchSocket
	for i, acc := range accounts {
		client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			b.Fatal(err)
		}
		c, raw := <-conns, <-raws
		so := newSocket(wsTransport{c: c, raw: raw}, fakeHooks{catchUps: make(chan *socket, 1)}, socketOptions{
			queueBytes: 16 << 20, writeTimeout: 10 * time.Second, closeTimeout: time.Second,
			pingInterval: time.Hour, confirmDelay: time.Hour,
		})
		so.id, so.account, so.ch, so.replaying, so.presenceOK = uint64(i+1), acc, channelUser, false, true
		go so.writeLoop()
		h.add(so, nil)
		bs := &benchSocket{so: so, client: client}
		bs.more = sync.NewCond(&bs.mu)
		go bs.read()
		b.Cleanup(func() {
			so.disconnect(disconnectShutdown)
			<-so.writerDone
			_ = client.Close()
		})
		out = append(out, bs)
	}
	return out
}

func (bs *benchSocket) read() {
	for {
		_, data, err := bs.client.ReadMessage()
		if err != nil {
			return
		}
		if bytes.Contains(data, []byte(`"type":"message"`)) {
			bs.mu.Lock()
			bs.messages++
			bs.mu.Unlock()
			bs.more.Broadcast()
		}
	}
}

func (bs *benchSocket) waitMessages(n int) {
	bs.mu.Lock()
	for bs.messages < n {
		bs.more.Wait()
	}
	bs.mu.Unlock()
}

// BenchmarkDirectHotPath is the server's work for one direct message apart
// from reading its frame, its commit and the bus: decode the client's send
// frame, encode the message frame once and append it to the batch for the
// bus, fan out in the hub, and write the ack to the sender's socket and the
// message to the recipient's, through real loopback WebSockets read by real
// clients (whose reads count too). allocs/op is the allocations per message.
func BenchmarkDirectHotPath(b *testing.B) {
	h := newHub()
	socks := openBenchSockets(b, h, "alice", "bob")
	sender, recipient := socks[0], socks[1]
	sendFrame := []byte(`{"type":"send","to":"bob","text":"周六去爬山吗？ see you at the trailhead","clientMsgId":"c-1"}`)
	const instance = "bench"
	now := time.Now()
	var wakes wakeSet
	var bus []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		f, err := frame.Decode(frame.UserChannel, sendFrame)
		if err != nil {
			b.Fatal(err)
		}
		seq := int64(i + 1)
		m := messages.Committed{Origin: sender.so.id, Message: messages.Message{
			ID: seq, Conv: messages.DirectKey("alice", f.To), Seq: seq, Sender: "alice", Recipient: f.To,
			Kind: f.MsgKind, Body: f.Text, ClientMsgID: f.ClientMsgID, Time: now,
		}}
		w := wireMessage{
			Conv: m.Conv, Seq: m.Seq, Sender: m.Sender, Recipient: m.Recipient,
			Origin: m.Origin, Instance: []byte(instance), Committed: m.Time.UnixNano(), Frame: frame.EncodeMessage(m.Framed()),
		}
		w.Ack = frame.EncodeAck(m.Framed())
		h.deliverMessage(instance, &w, &wakes)
		if !w.AckQueued {
			b.Fatal("the ack did not take the message's place")
		}
		bus = appendWireMessage(bus[:0], &w)
		wakes.wake()
		if i%256 == 255 {
			// Let the writers keep up, as the clients' send rate would.
			recipient.waitMessages(i + 1)
		}
	}
	recipient.waitMessages(b.N)
}

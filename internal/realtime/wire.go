package realtime

import (
	"encoding/binary"
	"encoding/json"
	"errors"
)

// NATS subjects. Every instance subscribes to all of them, itself included,
// so one instance runs the same path as a cluster; only its own batches of
// messages it skips, having delivered them to its sockets when it
// committed them. The changes of rights are the exception: each instance
// subscribes to them followed by its own id, and a change is asked of each
// other instance by id, having been applied where it was made.
const (
	subjectMessages = "tim.msg"      // committed messages, in commit order per instance
	subjectPresence = "tim.presence" // an account came online or went offline
	subjectGroup    = "tim.group"    // group.presence and group.online frames
	subjectClose    = "tim.close"    // close the sockets of an account or token; .<instance id>
	subjectMember   = "tim.member"   // an account joined or left a group; .<instance id>
	subjectFriend   = "tim.friend"   // a friendship ended; .<instance id>
)

// wireMessage is a committed message with its frame, encoded once by the
// committing instance. Batches of them travel in a compact binary form
// (appendWireMessage, decodeWireMessages): they are the bulk of the traffic
// between instances, and JSON would re-validate every frame on each side.
type wireMessage struct {
	Conv      string
	Seq       int64
	Sender    string
	Recipient string // direct messages
	GroupID   int64  // group messages
	// Origin is the socket that sent the message on instance Instance (0:
	// none): it gets the ack in the message's place, not a copy (see
	// hub.deliverMessage).
	Origin    uint64
	Instance  []byte
	Committed int64 // commit time, unix ns
	Frame     []byte

	// On the committing instance only, never on the bus: the origin's ack,
	// which takes the message's place in that socket's queue, and whether
	// it did (see hub.deliverMessage).
	Ack       []byte
	AckQueued bool
}

// appendWireMessage appends w to b: its fields as uvarint-prefixed bytes
// or uvarints.
func appendWireMessage(b []byte, w *wireMessage) []byte {
	b = appendWireString(b, w.Conv)
	b = binary.AppendUvarint(b, uint64(w.Seq))
	b = appendWireString(b, w.Sender)
	b = appendWireString(b, w.Recipient)
	b = binary.AppendUvarint(b, uint64(w.GroupID))
	b = binary.AppendUvarint(b, w.Origin)
	b = binary.AppendUvarint(b, uint64(len(w.Instance)))
	b = append(b, w.Instance...)
	b = binary.AppendUvarint(b, uint64(w.Committed))
	b = binary.AppendUvarint(b, uint64(len(w.Frame)))
	return append(b, w.Frame...)
}

func appendWireString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errWire = errors.New("malformed message batch")

// decodeWireMessages calls fn for each message of a batch, in order. The
// frames and instances share data's memory.
func decodeWireMessages(data []byte, fn func(*wireMessage)) error {
	uvarint := func() (uint64, error) {
		v, n := binary.Uvarint(data)
		if n <= 0 {
			return 0, errWire
		}
		data = data[n:]
		return v, nil
	}
	bytesField := func() ([]byte, error) {
		n, err := uvarint()
		if err != nil || n > uint64(len(data)) {
			return nil, errWire
		}
		v := data[:n:n]
		data = data[n:]
		return v, nil
	}
	var w wireMessage
	for len(data) > 0 {
		conv, err := bytesField()
		if err != nil {
			return err
		}
		seq, err := uvarint()
		if err != nil {
			return err
		}
		sender, err := bytesField()
		if err != nil {
			return err
		}
		recipient, err := bytesField()
		if err != nil {
			return err
		}
		gid, err := uvarint()
		if err != nil {
			return err
		}
		origin, err := uvarint()
		if err != nil {
			return err
		}
		instance, err := bytesField()
		if err != nil {
			return err
		}
		committed, err := uvarint()
		if err != nil {
			return err
		}
		frame, err := bytesField()
		if err != nil {
			return err
		}
		w = wireMessage{
			Conv: string(conv), Seq: int64(seq), Sender: string(sender), Recipient: string(recipient), GroupID: int64(gid),
			Origin: origin, Instance: instance, Committed: int64(committed), Frame: frame,
		}
		fn(&w)
	}
	return nil
}

type wirePresence struct {
	Account string   `json:"a"`
	Online  bool     `json:"o"`
	Friends []string `json:"f"`
}

type wireGroup struct {
	GroupID  int64             `json:"g"`
	Instance string            `json:"i"`
	Origin   uint64            `json:"s"` // the socket that already has the frames
	Frames   []json.RawMessage `json:"x"`
}

type wireMember struct {
	GroupID int64  `json:"g"`
	Account string `json:"a"`
	Member  bool   `json:"m"`
}

type wireFriend struct {
	A string `json:"a"`
	B string `json:"b"`
}

type wireClose struct {
	Account string `json:"a"`
	JTI     string `json:"j,omitempty"`
}

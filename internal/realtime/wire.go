package realtime

import "encoding/json"

// NATS subjects. Every instance subscribes to all of them, itself included,
// so one instance runs the same path as a cluster.
const (
	subjectMessages = "tim.msg"      // committed messages, in commit order per instance
	subjectPresence = "tim.presence" // an account came online or went offline
	subjectGroup    = "tim.group"    // group.presence and group.online frames
	subjectClose    = "tim.close"    // close the sockets of an account or token
)

// wireMessages is a batch of committed messages, each with its frame
// encoded once by the committing instance.
type wireMessages struct {
	Messages []wireMessage `json:"m"`
}

type wireMessage struct {
	Conv      string          `json:"c"`
	Seq       int64           `json:"s"`
	Sender    string          `json:"f"`
	Recipient string          `json:"t,omitempty"`
	GroupID   int64           `json:"g,omitempty"`
	Frame     json.RawMessage `json:"x"`
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

type wireClose struct {
	Account string `json:"a"`
	JTI     string `json:"j,omitempty"`
}

package realtime

import "tim/internal/realtime/frame"

// channel is the kind of WebSocket a client opened.
type channel int

const (
	channelUser   channel = iota // /websocket/{useraccount}
	channelDirect                // /websocket/OneToOne/{useraccount}/{friendaccount}
	channelGroup                 // /websocket/{GroupID}/{UserAccount}
)

func (c channel) String() string {
	switch c {
	case channelUser:
		return "user"
	case channelDirect:
		return "direct"
	default:
		return "group"
	}
}

// decoding is how the codec reads the frames of a socket of channel c.
func (c channel) decoding() frame.Channel {
	if c == channelUser {
		return frame.UserChannel
	}
	return frame.ConversationChannel
}

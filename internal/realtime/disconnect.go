package realtime

import "github.com/gorilla/websocket"

// Close codes, documented in api/asyncapi.yaml.
const (
	CloseNormal       = 1000 // the client closed
	CloseGoingAway    = 1001 // server shutdown; reconnect and resume
	CloseTooBig       = 1009 // a frame above the size limit
	CloseInternal     = 1011 // an unexpected server error
	CloseSlowConsumer = 4000 // the outgoing queue overflowed; reconnect and resume
	CloseLoggedOut    = 4001 // the token was logged out or expired
	CloseNoLongerPeer = 4003 // no longer a member of the group, or no longer friends
)

// disconnect is one way a socket ends: the close frame's code and reason,
// and whether its client should reconnect and resume from its cursor (the
// "client action" of the close codes in api/asyncapi.yaml). Every close
// goes through socket.disconnect with one of the values below.
type disconnect struct {
	code   int
	reason string
	resume bool
}

// The ways a socket ends. The reasons are what the close frames carry.
var (
	// disconnectNormal: the client closed, or went away without a close
	// handshake.
	disconnectNormal = disconnect{code: CloseNormal}
	// disconnectShutdown: the instance shuts down; the frames already
	// queued are written first.
	disconnectShutdown = disconnect{code: CloseGoingAway, reason: "server shutting down", resume: true}
	// disconnectTooBig: the client sent a frame above the read limit. The
	// WebSocket library writes this close frame itself.
	disconnectTooBig = disconnect{code: CloseTooBig}
	// disconnectInternal: an unexpected server error.
	disconnectInternal = disconnect{code: CloseInternal, reason: "internal error", resume: true}
	// disconnectSlow: the outgoing queue overflowed.
	disconnectSlow = disconnect{code: CloseSlowConsumer, reason: "slow consumer", resume: true}
	// disconnectLoggedOut: the socket's token was logged out.
	disconnectLoggedOut = disconnect{code: CloseLoggedOut, reason: "logged out"}
	// disconnectExpired: the socket's token expired.
	disconnectExpired = disconnect{code: CloseLoggedOut, reason: "token expired"}
	// disconnectNotMember: the account left the group socket's group.
	disconnectNotMember = disconnect{code: CloseNoLongerPeer, reason: "no longer a member"}
	// disconnectNotFriends: the one-to-one socket's parties are no longer
	// friends.
	disconnectNotFriends = disconnect{code: CloseNoLongerPeer, reason: "no longer friends"}
)

// disconnectEcho answers a client's close frame with its own code, as
// RFC 6455 asks; a close without a code is answered with 1000.
func disconnectEcho(code int) disconnect {
	if code == websocket.CloseNoStatusReceived {
		return disconnectNormal
	}
	return disconnect{code: code}
}

// disconnect asks the socket's writer to close it with d; the first asked
// wins. It never blocks: the writer writes the close frame (unless the
// WebSocket library already wrote it, for disconnectTooBig), waits briefly
// for the client's answer and closes the connection.
func (s *socket) disconnect(d disconnect) {
	s.qmu.Lock()
	s.disconnectLocked(d)
	s.qmu.Unlock()
	signal(s.wake)
}

// disconnectLocked is disconnect with qmu held and the writer left to wake.
func (s *socket) disconnectLocked(d disconnect) {
	if s.closeWith.code == 0 {
		s.closeWith = d
	}
	if d == disconnectTooBig {
		s.closeSent = true
	}
}

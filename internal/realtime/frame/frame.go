// Package frame is the WebSocket protocol's codec: it scans and decodes
// the frames clients write and encodes the frames the server writes, as
// api/asyncapi.yaml describes them. It does no I/O: the socket code in
// realtime and the REST handlers in messages hand it bytes and values.
package frame

import "encoding/json"

// Error is a client frame the codec refuses, with the error frame's code
// (400: malformed) and message.
type Error struct {
	Code    int32
	Message string
}

func (e *Error) Error() string { return e.Message }

func badFrame(msg string) *Error { return &Error{Code: 400, Message: msg} }

// mustJSON encodes one of the generated frame types, which cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("encode frame: " + err.Error())
	}
	return b
}

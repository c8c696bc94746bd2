// Package reply holds the refusal vocabulary and answers the contract's
// operations in the envelope. Each refusal (refusal.go) is one value with
// one code and one Chinese message, rendered alike by REST and the
// WebSockets. One value, Envelope, is the response object of every
// operation below: its Visit methods write the status, the Retry-After
// header when set, and the body {code, message[, data]}. Which statuses an operation may answer is the
// contract's business; the spec-validating transport of the tests holds the
// handlers to it.
//
// Expected outcomes (400, 403, 404, 409, 413, 415, 429 and successes) are
// Envelopes; anything unexpected is an error returned to the central error
// handler, which logs it and answers 500 without details.
package reply

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// Envelope is an expected answer: Code is the HTTP status and the body's
// code.
type Envelope struct {
	Code    int32
	Message string
	// Data is the body's data; nil leaves it out.
	Data any
	// RetryAfter, when positive, is sent as the Retry-After header, in
	// seconds.
	RetryAfter int32
}

// New returns the envelope of status code with message.
func New(code int32, message string) Envelope { return Envelope{Code: code, Message: message} }

type body struct {
	Code    int32  `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// write writes e as the generated JSON responses do.
func (e Envelope) write(w http.ResponseWriter) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(body{Code: e.Code, Message: e.Message, Data: e.Data}); err != nil {
		return err
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(e.Code))
	_, err := buf.WriteTo(w)
	return err
}

// The operations answered with an Envelope.

func (e Envelope) VisitUserRegisterResponse(w http.ResponseWriter) error   { return e.write(w) }
func (e Envelope) VisitUserLoginResponse(w http.ResponseWriter) error      { return e.write(w) }
func (e Envelope) VisitUserLogoutResponse(w http.ResponseWriter) error     { return e.write(w) }
func (e Envelope) VisitUserLogoutPostResponse(w http.ResponseWriter) error { return e.write(w) }

func (e Envelope) VisitAddFriendResponse(w http.ResponseWriter) error        { return e.write(w) }
func (e Envelope) VisitAddFriendPostResponse(w http.ResponseWriter) error    { return e.write(w) }
func (e Envelope) VisitDeleteFriendResponse(w http.ResponseWriter) error     { return e.write(w) }
func (e Envelope) VisitDeleteFriendPostResponse(w http.ResponseWriter) error { return e.write(w) }

func (e Envelope) VisitUploadHeadPicResponse(w http.ResponseWriter) error { return e.write(w) }
func (e Envelope) VisitUploadChatPicResponse(w http.ResponseWriter) error { return e.write(w) }
func (e Envelope) VisitUploadMp3Response(w http.ResponseWriter) error     { return e.write(w) }
func (e Envelope) VisitUploadMp4Response(w http.ResponseWriter) error     { return e.write(w) }

func (e Envelope) VisitGetFriendsResponse(w http.ResponseWriter) error { return e.write(w) }

func (e Envelope) VisitUpdateProfileResponse(w http.ResponseWriter) error       { return e.write(w) }
func (e Envelope) VisitGetProfileResponse(w http.ResponseWriter) error          { return e.write(w) }
func (e Envelope) VisitGetUserResponse(w http.ResponseWriter) error             { return e.write(w) }
func (e Envelope) VisitGetFriendRequestsResponse(w http.ResponseWriter) error   { return e.write(w) }
func (e Envelope) VisitAnswerFriendRequestResponse(w http.ResponseWriter) error { return e.write(w) }
func (e Envelope) VisitCancelFriendRequestResponse(w http.ResponseWriter) error { return e.write(w) }
func (e Envelope) VisitBlockResponse(w http.ResponseWriter) error               { return e.write(w) }
func (e Envelope) VisitUnblockResponse(w http.ResponseWriter) error             { return e.write(w) }
func (e Envelope) VisitGetBlocksResponse(w http.ResponseWriter) error           { return e.write(w) }

func (e Envelope) VisitJoinGroupResponse(w http.ResponseWriter) error        { return e.write(w) }
func (e Envelope) VisitLeaveGroupResponse(w http.ResponseWriter) error       { return e.write(w) }
func (e Envelope) VisitCreateGroupResponse(w http.ResponseWriter) error      { return e.write(w) }
func (e Envelope) VisitGetGroupsResponse(w http.ResponseWriter) error        { return e.write(w) }
func (e Envelope) VisitGetGroupMembersResponse(w http.ResponseWriter) error  { return e.write(w) }
func (e Envelope) VisitSetGroupRoleResponse(w http.ResponseWriter) error     { return e.write(w) }
func (e Envelope) VisitKickMemberResponse(w http.ResponseWriter) error       { return e.write(w) }
func (e Envelope) VisitMuteMemberResponse(w http.ResponseWriter) error       { return e.write(w) }
func (e Envelope) VisitMuteGroupResponse(w http.ResponseWriter) error        { return e.write(w) }
func (e Envelope) VisitTransferGroupResponse(w http.ResponseWriter) error    { return e.write(w) }
func (e Envelope) VisitDissolveGroupResponse(w http.ResponseWriter) error    { return e.write(w) }
func (e Envelope) VisitUpdateGroupResponse(w http.ResponseWriter) error      { return e.write(w) }
func (e Envelope) VisitGetMessagesResponse(w http.ResponseWriter) error      { return e.write(w) }
func (e Envelope) VisitGetGroupMessagesResponse(w http.ResponseWriter) error { return e.write(w) }
func (e Envelope) VisitGetConversationsResponse(w http.ResponseWriter) error { return e.write(w) }
func (e Envelope) VisitMarkReadResponse(w http.ResponseWriter) error         { return e.write(w) }
func (e Envelope) VisitGetGroupReadersResponse(w http.ResponseWriter) error  { return e.write(w) }

func (e Envelope) VisitGetJoinRequestsResponse(w http.ResponseWriter) error   { return e.write(w) }
func (e Envelope) VisitAnswerJoinRequestResponse(w http.ResponseWriter) error { return e.write(w) }
func (e Envelope) VisitInviteMemberResponse(w http.ResponseWriter) error      { return e.write(w) }

func (e Envelope) VisitHealthzResponse(w http.ResponseWriter) error { return e.write(w) }
func (e Envelope) VisitReadyzResponse(w http.ResponseWriter) error  { return e.write(w) }

func (e Envelope) VisitGetAvatarResponse(w http.ResponseWriter) error       { return e.write(w) }
func (e Envelope) VisitDownloadChatPicResponse(w http.ResponseWriter) error { return e.write(w) }
func (e Envelope) VisitDownloadMp3Response(w http.ResponseWriter) error     { return e.write(w) }
func (e Envelope) VisitDownloadMp4Response(w http.ResponseWriter) error     { return e.write(w) }

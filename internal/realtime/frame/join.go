package frame

import (
	"time"

	"tim/gen/models"
)

// The notices of join requests, on user sockets only: not stored, no seq,
// not replayed.

// JoinRequest is a request to join a group, as its owner's and admins'
// sockets are told of it.
type JoinRequest struct {
	ID      int64
	GroupID int64
	Account string
	Message string
	Time    time.Time
}

// EncodeJoinRequest tells a group's owner or admin that r was made.
func EncodeJoinRequest(r JoinRequest) []byte {
	return mustJSON(models.JoinRequestFrame{
		Type: models.JoinRequestFrameTypeJoinRequest, Id: r.ID, GroupId: r.GroupID,
		Account: r.Account, Message: r.Message, Time: r.Time.UTC(),
	})
}

// EncodeJoinRequestAnswered tells the requester that their request id to
// join group was answered.
func EncodeJoinRequestAnswered(id, group int64, accepted bool) []byte {
	return mustJSON(models.JoinRequestAnsweredFrame{
		Type: models.JoinRequestAnsweredFrameTypeJoinRequestAnswered, Id: id, GroupId: group, Accepted: accepted,
	})
}

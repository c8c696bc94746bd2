package frame

import (
	"time"

	"tim/gen/models"
)

// The notices of the social graph, on user sockets only.

// EncodeFriendRequest tells the recipient of friend request id that from
// asked, at t, with message.
func EncodeFriendRequest(id int64, from, message string, t time.Time) []byte {
	return mustJSON(models.FriendRequestFrame{
		Type: models.FriendRequestFrameTypeFriendRequest, Id: id, From: from, Message: message, Time: t.UTC(),
	})
}

// EncodeFriendAdded tells an account that it and account became friends.
func EncodeFriendAdded(account string) []byte {
	return mustJSON(models.FriendAddedFrame{Type: models.FriendAddedFrameTypeFriendAdded, Account: account})
}

// EncodeFriendRemoved tells an account that its friendship with account
// ended.
func EncodeFriendRemoved(account string) []byte {
	return mustJSON(models.FriendRemovedFrame{Type: models.FriendRemovedFrameTypeFriendRemoved, Account: account})
}

package frame

import "tim/gen/models"

// The notice of a lost group, on user sockets only: not stored, no seq,
// not replayed.

// EncodeGroupRemoved tells an account that it lost group, for reason
// (kicked or dissolved), by the act of account by.
func EncodeGroupRemoved(group int64, reason models.GroupRemovedFrameReason, by string) []byte {
	return mustJSON(models.GroupRemovedFrame{
		Type: models.GroupRemovedFrameTypeGroupRemoved, GroupId: group, Reason: reason, By: by,
	})
}

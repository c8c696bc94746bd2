package frame

// The codec's refusals of a client frame, each worded once (400, the frame
// is malformed). api/asyncapi.yaml shows each as an error frame example; a
// test in internal/reply holds them to it and to the refusal vocabulary,
// which the codec, being pure, does not import.
var (
	ErrNotUTF8        = badFrame("消息不是有效的UTF-8文本")
	ErrUnknownType    = badFrame("未知的帧类型")
	ErrNotObject      = badFrame("帧必须是JSON对象")
	ErrSendFrame      = badFrame("send帧格式错误")
	ErrAckFrame       = badFrame("ack帧格式错误")
	ErrSyncFrame      = badFrame("sync帧格式错误")
	ErrReadFrame      = badFrame("read帧格式错误")
	ErrTypingFrame    = badFrame("typing帧格式错误")
	ErrRecallFrame    = badFrame("recall帧格式错误")
	ErrLegacyFrame    = badFrame("消息帧需要to和text")
	ErrLegacyTo       = badFrame("to不是有效的账号")
	ErrEmptyText      = badFrame("消息不能为空")
	ErrNULText        = badFrame("消息不能包含NUL字符")
	ErrKind           = badFrame("kind必须是text、image、audio或video")
	ErrClientMsgID    = badFrame("clientMsgId长度必须在1到64之间")
	ErrNegativeSeq    = badFrame("seq不能为负")
	ErrNegativeAfter  = badFrame("afterSeq不能为负")
	ErrSeqNotPositive = badFrame("seq必须是正整数")
	ErrIDNotPositive  = badFrame("id必须是正整数")
	ErrAccount        = badFrame("账号格式错误")
	ErrGroupID        = badFrame("groupId必须是1到9007199254740991之间的整数")
	ErrNoTarget       = badFrame("需要账号或groupId之一")
)

// Errors lists every refusal of the codec.
func Errors() []*Error {
	return []*Error{
		ErrNotUTF8, ErrUnknownType, ErrNotObject,
		ErrSendFrame, ErrAckFrame, ErrSyncFrame, ErrReadFrame, ErrTypingFrame, ErrRecallFrame,
		ErrLegacyFrame, ErrLegacyTo, ErrEmptyText, ErrNULText, ErrKind, ErrClientMsgID,
		ErrNegativeSeq, ErrNegativeAfter, ErrSeqNotPositive, ErrIDNotPositive,
		ErrAccount, ErrGroupID, ErrNoTarget,
	}
}

package reply

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Refusal is an expected refusal: Code is the HTTP status of a REST answer
// and the code of a WebSocket error frame, Message its Chinese text. Domain
// code returns a Refusal as an error, wrapped or not; REST handlers render
// it with Refuse, the realtime socket as an error frame, so both say the
// same. Refusals are compared by value: errors.Is(err, NotGroupMember).
type Refusal struct {
	Code    int32
	Message string
}

func (r Refusal) Error() string { return strconv.Itoa(int(r.Code)) + " " + r.Message }

// Envelope is r's answer.
func (r Refusal) Envelope() Envelope { return Envelope{Code: r.Code, Message: r.Message} }

// Retry is r with a Retry-After of seconds, for refusals that say when to
// come back; errors.Is(err, r) still holds.
func (r Refusal) Retry(seconds int32) error { return retry{r, seconds} }

type retry struct {
	Refusal
	after int32
}

func (e retry) Unwrap() error { return e.Refusal }

// MutedUntil is Muted for a member whose own mute ends at until;
// errors.Is(err, Muted) still holds.
func MutedUntil(until time.Time) error { return mute{Muted, until} }

// MuteEnd is the end of the member's mute that err refuses a send for,
// if it names one.
func MuteEnd(err error) (time.Time, bool) {
	var m mute
	if errors.As(err, &m) {
		return m.until, true
	}
	return time.Time{}, false
}

type mute struct {
	Refusal
	until time.Time
}

func (e mute) Unwrap() error { return e.Refusal }

// As finds the Refusal in err's chain.
func As(err error) (Refusal, bool) {
	var r Refusal
	if errors.As(err, &r) {
		return r, true
	}
	var w retry
	if errors.As(err, &w) {
		return w.Refusal, true
	}
	return Refusal{}, false
}

// Refuse answers err in the envelope when it is a refusal; anything else is
// returned for the central error handler, which answers 500.
func Refuse(err error) (Envelope, error) {
	r, ok := As(err)
	if !ok {
		return Envelope{}, err
	}
	e := r.Envelope()
	var w retry
	if errors.As(err, &w) {
		e.RetryAfter = w.after
	}
	return e, nil
}

func refusal(code int32, message string) Refusal { return Refusal{Code: code, Message: message} }

// The vocabulary: every refusal of the REST operations, the WebSocket
// frames and handshakes, and the transport in front of them, worded once. A
// new refusal is added here, to Refusals, and as an example to
// api/openapi.yaml or api/asyncapi.yaml (a test checks it).
var (
	// Acting for, or reading, another account than the token's.
	OtherAccount = refusal(http.StatusForbidden, "无权操作其他账号")
	// NoPermission: the other party does not let the caller do this. It
	// says no more, so that a block stays private.
	NoPermission = refusal(http.StatusForbidden, "无权限")
	// ShuttingDown: the server is stopping and takes no more work.
	ShuttingDown = refusal(http.StatusServiceUnavailable, "服务器正在关闭")
	// Busy: the work did not get its turn in time; nothing was done.
	Busy = refusal(http.StatusServiceUnavailable, "服务器繁忙，请稍后再试")
	// SendBusy: a send was not committed in time; nothing was stored, the
	// client sends it again.
	SendBusy = refusal(http.StatusServiceUnavailable, "服务器繁忙，请稍后重发")

	// Accounts.
	BadLogin             = refusal(http.StatusUnauthorized, "用户认证失败请查询登录")
	AccountTaken         = refusal(http.StatusConflict, "账号已被注册")
	TooManyLogins        = refusal(http.StatusTooManyRequests, "登录失败次数过多，请稍后再试")
	TooManyRegistrations = refusal(http.StatusTooManyRequests, "注册过于频繁，请稍后再试")

	// Friends.
	UserNotFound   = refusal(http.StatusNotFound, "用户不存在")
	SelfFriend     = refusal(http.StatusBadRequest, "不能添加自己为好友")
	AlreadyFriends = refusal(http.StatusConflict, "已经是好友")
	NoFriendship   = refusal(http.StatusNotFound, "不是好友")
	// NotFriends: a send, typing or socket needs a friendship that does not
	// exist.
	NotFriends = refusal(http.StatusForbidden, "对方不是你的好友")

	// Friend requests and blocks. What a blocked account is refused is
	// NoPermission, which does not tell it that it is blocked.
	ClosedToRequests = refusal(http.StatusForbidden, "对方不接受好友申请")
	// YouBlock: the caller blocks the other party of a request, a send or
	// a one-to-one socket.
	YouBlock        = refusal(http.StatusForbidden, "你已屏蔽对方，请先解除屏蔽")
	SelfBlock       = refusal(http.StatusBadRequest, "不能屏蔽自己")
	NoFriendRequest = refusal(http.StatusNotFound, "好友申请不存在")
	// RequestClosed: a friend request answered, cancelled or expired.
	RequestClosed = refusal(http.StatusConflict, "好友申请已处理或已过期")

	// Groups.
	GroupNotFound  = refusal(http.StatusNotFound, "群聊不存在")
	NotGroupMember = refusal(http.StatusForbidden, "不是群成员，无权查看")
	AlreadyMember  = refusal(http.StatusConflict, "已在群聊中")
	GroupFull      = refusal(http.StatusConflict, "群聊已满")
	// NotInGroup: a leave of a group one is not in (or that does not exist).
	NotInGroup   = refusal(http.StatusNotFound, "不在群聊中")
	BadGroupName = BadParameter("GroupName", "群聊名称须为1到64个字符，且不含控制字符")
	// BadGroupID: a GroupID that is no integer from 1 to 2^53-1, as the
	// validator words it for a query parameter and a socket's handshake for
	// its path.
	BadGroupID = BadParameter("GroupID", "须为1到9007199254740991之间的整数")

	// Group administration.
	OwnerOnly    = refusal(http.StatusForbidden, "仅群主可以操作")
	OwnerOrAdmin = refusal(http.StatusForbidden, "仅群主或管理员可以操作")
	// Outranked: an admin acting on an admin or the owner, or anyone
	// muting the owner.
	Outranked = refusal(http.StatusForbidden, "不能对同级或更高角色的成员操作")
	// TargetNotMember: the TargetAccount of an operation is not a member.
	TargetNotMember = refusal(http.StatusNotFound, "对方不是群成员")
	// SelfTarget: kicking, muting, transferring to or setting the role of
	// oneself.
	SelfTarget = refusal(http.StatusBadRequest, "不能对自己执行该操作")
	// OwnerMustTransfer: the owner leaving while other members remain.
	OwnerMustTransfer = refusal(http.StatusForbidden, "群主需先转让群聊才能退出")
	// Muted: a group send of a muted member, or of a plain member while
	// the whole group is muted; MutedUntil carries the end of a member's
	// own mute.
	Muted = refusal(http.StatusForbidden, "禁言中")
	// GroupDissolved: a join of a dissolved group's id, which is never
	// used again.
	GroupDissolved = refusal(http.StatusNotFound, "群聊已解散")

	// Conversations and reads.
	BadPageCursor  = BadParameter("cursor", "请使用上一页返回的next")
	WithOrGroup    = refusal(http.StatusBadRequest, "需要with或groupId之一")
	WithSelf       = refusal(http.StatusBadRequest, "with不能是自己的账号")
	NoConversation = refusal(http.StatusNotFound, "会话不存在")
	BeyondEnd      = refusal(http.StatusBadRequest, "seq超出了会话的最新消息")

	// Recalls.
	NoMessage     = refusal(http.StatusNotFound, "消息不存在")
	NotSender     = refusal(http.StatusForbidden, "只能撤回自己发送的消息")
	RecallExpired = refusal(http.StatusForbidden, "超过撤回时限")
	Recalled      = refusal(http.StatusConflict, "消息已撤回")

	// Media, uploaded and named by a send.
	FileNotFound = refusal(http.StatusNotFound, "文件不存在")
	NoAvatar     = refusal(http.StatusNotFound, "该用户没有头像")
	BadFilename  = refusal(http.StatusBadRequest, "文件名不合法")
	NotImageFile = refusal(http.StatusBadRequest, "该文件不是图片")
	NotMP3File   = refusal(http.StatusBadRequest, "该文件不是MP3音频")
	NotMP4File   = refusal(http.StatusBadRequest, "该文件不是MP4视频")
	// NotOwnUpload: a media send naming another account's upload.
	NotOwnUpload   = refusal(http.StatusForbidden, "只能发送自己上传的文件")
	NotImageUpload = refusal(http.StatusUnsupportedMediaType, "上传的格式不是图片")
	NotMP3Upload   = refusal(http.StatusUnsupportedMediaType, "上传的格式不是MP3")
	NotVideoUpload = refusal(http.StatusUnsupportedMediaType, "上传的格式不是视频")
	NoFileField    = refusal(http.StatusBadRequest, "缺少文件字段file")
	EmptyFile      = refusal(http.StatusBadRequest, "上传的文件为空")
	BadUploadBody  = refusal(http.StatusBadRequest, "上传的请求体不完整或格式错误")
	BodyTooLarge   = refusal(http.StatusRequestEntityTooLarge, "请求体过大")
	UploadTooSlow  = refusal(http.StatusRequestTimeout, "上传速度过慢，已中止")
	TooManyUploads = refusal(http.StatusTooManyRequests, "同时进行的上传过多，请稍后重试")
	BadRange       = refusal(http.StatusRequestedRangeNotSatisfiable, "请求的范围无效")

	// Frames of the WebSockets.
	SendRateLimited = refusal(http.StatusTooManyRequests, "发送过于频繁")
	TextFramesOnly  = refusal(http.StatusBadRequest, "只接受文本帧")
	AckNotDeclared  = refusal(http.StatusBadRequest, "连接时未声明ack=1")
	AckForbidden    = refusal(http.StatusForbidden, "无权确认该会话")
	SyncForbidden   = refusal(http.StatusForbidden, "无权同步该会话")
	ReadOtherConv   = refusal(http.StatusBadRequest, "该连接只能标记本会话已读")
	TypingOtherConv = refusal(http.StatusBadRequest, "该连接只能发送本会话的输入状态")
	SendFailed      = refusal(http.StatusInternalServerError, "发送失败")
	RecallFailed    = refusal(http.StatusInternalServerError, "撤回失败")
	ReadFailed      = refusal(http.StatusInternalServerError, "标记已读失败")
	SyncFailed      = refusal(http.StatusInternalServerError, "同步失败")
	TypingFailed    = refusal(http.StatusInternalServerError, "发送输入状态失败")

	// The handshake of the WebSockets; its other refusals are the
	// transport's and the domain's above.
	TooManySockets = refusal(http.StatusTooManyRequests, "连接数已达上限")

	// Join policies.
	// InviteOnly: a join of a group whose policy is invite.
	InviteOnly = refusal(http.StatusForbidden, "仅限邀请加入")
	// NotGroupManager: join requests and invitations are the group's owner's
	// and admins' (a non-member is told the same).
	NotGroupManager = refusal(http.StatusForbidden, "仅群主和管理员可以审批入群或邀请成员")
	NoJoinRequest   = refusal(http.StatusNotFound, "入群申请不存在")
	// JoinRequestAnswered: the request was answered already, also by an
	// answer that raced this one.
	JoinRequestAnswered = refusal(http.StatusConflict, "该入群申请已处理")
	// TooManyJoins: the account's refused joins filled their window.
	TooManyJoins = refusal(http.StatusTooManyRequests, "加群失败次数过多，请稍后再试")

	// The transport: the token, the origin, the route and the body, refused
	// before any operation's handler runs (and before a socket's upgrade),
	// and the server's own trouble.
	NoToken      = refusal(http.StatusUnauthorized, "未登录，请先登录")
	BadToken     = refusal(http.StatusUnauthorized, "token无效，请重新登录")
	ExpiredToken = refusal(http.StatusUnauthorized, "token已过期，请重新登录")
	RevokedToken = refusal(http.StatusUnauthorized, "token已失效，请重新登录")
	// OriginRefused: a page's Origin that TIM_ALLOWED_ORIGINS does not list,
	// at a CORS preflight or a socket's handshake.
	OriginRefused        = refusal(http.StatusForbidden, "不允许该来源跨域访问")
	NoRoute              = refusal(http.StatusNotFound, "接口不存在")
	MethodNotAllowed     = refusal(http.StatusMethodNotAllowed, "请求方法不支持")
	UnsupportedMediaType = refusal(http.StatusUnsupportedMediaType, "不支持的内容类型")
	BodyTimeout          = refusal(http.StatusRequestTimeout, "请求体发送超时")
	BadJSON              = refusal(http.StatusBadRequest, "请求体不是合法的JSON")
	BadRequest           = refusal(http.StatusBadRequest, badRequest)
	NoBody               = BadRequestWith("缺少请求体")
	NoBoundary           = BadParameter("Content-Type", "缺少multipart的boundary参数")
	Internal             = refusal(http.StatusInternalServerError, "服务器内部错误")
	DatabaseUnavailable  = refusal(http.StatusServiceUnavailable, "数据库不可用")
	BusUnavailable       = refusal(http.StatusServiceUnavailable, "实例间消息总线不可用")
	// MediaStoreUnavailable: the blob store failed otherwise than by not
	// finding a blob; downloads send it with a Retry-After.
	MediaStoreUnavailable = refusal(http.StatusServiceUnavailable, "媒体存储不可用")
)

// The words of the refusals made by constructors.
const (
	fileTooLargeFmt     = "上传的文件过大，上限为%d字节"
	badRequest          = "请求参数错误"
	badParameterFmt     = "参数%s不合法：%s"
	missingParameterFmt = "缺少参数%s"
	badFieldFmt         = "字段%s不合法：%s"
	missingFieldFmt     = "缺少字段%s"
)

// FileTooLarge refuses an upload larger than limit bytes.
func FileTooLarge(limit int64) Refusal {
	return refusal(http.StatusRequestEntityTooLarge, fmt.Sprintf(fileTooLargeFmt, limit))
}

// BadParameter refuses the query, path or header parameter name, for
// reason.
func BadParameter(name, reason string) Refusal {
	return refusal(http.StatusBadRequest, fmt.Sprintf(badParameterFmt, name, reason))
}

// MissingParameter refuses a request without its required parameter name.
func MissingParameter(name string) Refusal {
	return refusal(http.StatusBadRequest, fmt.Sprintf(missingParameterFmt, name))
}

// BadField refuses the JSON body's field (a dotted path), for reason.
func BadField(field, reason string) Refusal {
	return refusal(http.StatusBadRequest, fmt.Sprintf(badFieldFmt, field, reason))
}

// MissingField refuses a JSON body without its required field.
func MissingField(field string) Refusal {
	return refusal(http.StatusBadRequest, fmt.Sprintf(missingFieldFmt, field))
}

// BadRequestWith is BadRequest saying what is wrong.
func BadRequestWith(detail string) Refusal {
	return refusal(http.StatusBadRequest, badRequest+"："+detail)
}

// Refusals lists the vocabulary: every value, and each constructor's
// refusal with a sample argument (one the contract shows) unless a value
// listed is made by it (BadGroupID by BadParameter, NoBody by
// BadRequestWith).
func Refusals() []Refusal {
	return []Refusal{
		OtherAccount, NoPermission, ShuttingDown, Busy, SendBusy,
		BadLogin, AccountTaken, TooManyLogins, TooManyRegistrations,
		UserNotFound, SelfFriend, AlreadyFriends, NoFriendship, NotFriends,
		ClosedToRequests, YouBlock, SelfBlock, NoFriendRequest, RequestClosed,
		GroupNotFound, NotGroupMember, AlreadyMember, GroupFull, NotInGroup, BadGroupName, BadGroupID,
		OwnerOnly, OwnerOrAdmin, Outranked, TargetNotMember, SelfTarget, OwnerMustTransfer, Muted, GroupDissolved,
		BadPageCursor, WithOrGroup, WithSelf, NoConversation, BeyondEnd,
		NoMessage, NotSender, RecallExpired, Recalled,
		FileNotFound, NoAvatar, BadFilename, NotImageFile, NotMP3File, NotMP4File, NotOwnUpload,
		NotImageUpload, NotMP3Upload, NotVideoUpload, NoFileField, EmptyFile, BadUploadBody,
		BodyTooLarge, UploadTooSlow, TooManyUploads, BadRange, FileTooLarge(20 << 20),
		SendRateLimited, TextFramesOnly, AckNotDeclared, AckForbidden, SyncForbidden,
		ReadOtherConv, TypingOtherConv, SendFailed, RecallFailed, ReadFailed, SyncFailed, TypingFailed,
		TooManySockets,
		InviteOnly, NotGroupManager, NoJoinRequest, JoinRequestAnswered, TooManyJoins,
		NoToken, BadToken, ExpiredToken, RevokedToken, OriginRefused,
		NoRoute, MethodNotAllowed, UnsupportedMediaType, BodyTimeout, BadJSON,
		BadRequest, NoBody, NoBoundary, Internal, DatabaseUnavailable, BusUnavailable, MediaStoreUnavailable,
		MissingParameter("account"), BadField("age", "number must be at most 150"), MissingField("password"),
	}
}

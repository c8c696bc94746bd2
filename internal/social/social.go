// Package social serves the social graph: mutual friendships and group
// membership. Every call acts for the token's account only; naming another
// account gets 403.
package social

import (
	"context"
	"errors"
	"log/slog"

	"tim/gen/models"
	"tim/internal/auth"
	"tim/internal/config"
	"tim/internal/messages"
	"tim/internal/reply"
	"tim/internal/store"
	"tim/internal/userview"
)

// Success messages; those of the original API document are kept word for
// word. Refusals are the reply package's.
const (
	msgFriendAdded   = "添加好友成功"
	msgFriendDeleted = "删除好友成功"
	msgFriendList    = "获取好友列表成功"

	msgRequestSent      = "好友申请已发送"
	msgRequestAccepted  = "已同意好友申请"
	msgRequestRejected  = "已拒绝好友申请"
	msgRequestCancelled = "已撤回好友申请"
	msgRequestList      = "获取好友申请成功"
	msgBlocked          = "已屏蔽该用户"
	msgUnblocked        = "已解除屏蔽"
	msgBlockList        = "获取屏蔽列表成功"
	msgProfileUpdated   = "修改资料成功"
	msgProfileShown     = "获取资料成功"
	msgUserShown        = "获取用户信息成功"

	msgGroupJoined  = "加入群聊成功"
	msgGroupLeft    = "退出群聊成功"
	msgGroupCreated = "创建群聊成功"
	msgGroupList    = "获取群聊列表成功"
	msgGroupMembers = "获取群成员成功"

	msgJoinRequested       = "入群申请已发送"
	msgJoinRequests        = "获取入群申请成功"
	msgJoinRequestAnswered = "已处理入群申请"
	msgMemberInvited       = "邀请入群成功"
)

// MaxGroupID is the largest group id, 2^53-1: JavaScript clients hold ids
// up to it exactly.
const MaxGroupID = 1<<53 - 1

// defaultNamePrefix names a group created by a join: 群聊<id>.
const defaultNamePrefix = "群聊"

// Subscriptions is told of each committed change of rights to a
// conversation, so that open sockets on every instance follow it before
// the request returns; the realtime service is one.
type Subscriptions interface {
	// Subscribe: account joined the group of conversation conv.
	Subscribe(ctx context.Context, account, conv string) error
	// Unsubscribe: account left the group of conv, or the friendship of
	// the one-to-one conversation conv ended (for both parties), or a
	// block now stands between them.
	Unsubscribe(ctx context.Context, account, conv string) error
	// Publish hands a notice frame to account's sockets that carry conv;
	// with conv "", its user sockets only.
	Publish(ctx context.Context, account, conv string, data []byte) error
	// PublishEvents: group events were committed (see timeline); every
	// socket of their groups gets them in seq order.
	PublishEvents(ctx context.Context, events []messages.Message)
}

// API implements the friend and group operations of the generated
// StrictServerInterface.
type API struct {
	q        *store.Store
	profiles *userview.Loader
	subs     Subscriptions
	cfg      config.Social
	logger   *slog.Logger
}

// New returns an API reading and writing through st; profiles builds the
// user objects of responses; subs hears of every change of rights.
func New(st *store.Store, profiles *userview.Loader, subs Subscriptions, cfg config.Social, logger *slog.Logger) *API {
	return &API{q: st, profiles: profiles, subs: subs, cfg: cfg, logger: logger}
}

// membershipChanged tells subs of a committed join or leave. The change
// stands whatever happens here: sockets the event misses follow it at their
// next re-check.
func (a *API) membershipChanged(ctx context.Context, g int64, account string, member bool) {
	verb := a.subs.Unsubscribe
	if member {
		verb = a.subs.Subscribe
	}
	if err := verb(ctx, account, messages.GroupKey(g)); err != nil {
		a.logger.WarnContext(ctx, "publish membership change", slog.Int64("group", g), slog.String("account", account), slog.Any("err", err))
	}
}

// callerAccount is the account of the request's verified token. The auth
// middleware runs before every handler here, so a missing token is a wiring
// bug, not a client error.
func callerAccount(ctx context.Context) (string, error) {
	c, ok := auth.FromContext(ctx)
	if !ok {
		return "", errors.New("social: no verified token in context")
	}
	return c.Account, nil
}

// actingFor is the token's account when the request names it, and
// reply.OtherAccount when it names another.
func actingFor(ctx context.Context, account string) (string, error) {
	caller, err := callerAccount(ctx)
	if err == nil && account != caller {
		err = reply.OtherAccount
	}
	return caller, err
}

// toAPIGroup is g as responses show it, with the deployment's join policy
// when g has none of its own.
func (a *API) toAPIGroup(g store.Group) models.Group {
	policy := g.JoinPolicy
	if policy == "" {
		policy = a.cfg.DefaultJoinPolicy
	}
	return models.Group{
		Id: g.ID, Name: g.Name, Owner: g.Owner, MemberCount: g.MemberCount,
		JoinPolicy: models.JoinPolicy(policy), HistoryVisibility: models.HistoryVisibility(g.HistoryVisibility),
		Announcement: g.Announcement, Muted: g.Muted,
	}
}

// toAPIMember is the member m with the user u as getGroupMembers lists it.
func toAPIMember(u models.User, m store.Member) models.GroupMember {
	gm := models.GroupMember{
		Id: u.Id, Username: u.Username, Account: u.Account, Sex: u.Sex, Age: u.Age,
		OnlineStatus: models.GroupMemberOnlineStatus(u.OnlineStatus), AvatarUrl: u.AvatarUrl, Role: models.GroupRole(m.Role),
	}
	if !m.MutedUntil.IsZero() {
		t := m.MutedUntil.UTC()
		gm.MutedUntil = &t
	}
	return gm
}

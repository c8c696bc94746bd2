// Tim's web chat client, the reference use of web/client: register and log
// in, friends with presence, friend requests and blocks, groups with their
// members, roles and administration, one-to-one and group chat with
// history and pictures, avatars. Plain TypeScript and DOM. `make generate` bundles
// it (esbuild, pinned in web/package.json) into gen/webassets,
// which the server embeds and serves at /.
//
// How it talks to Tim:
// - HTTP through TimClient, typed by the contract: accounts, friends,
//   groups, history and uploads.
// - One socket on the user channel (TimSocket "user") for everything live:
//   the messages of every conversation (its own typed sends come back as
//   acks, from which it shows them), friends' presence, and its sends. It
//   is opened with ack=1 and acknowledges each message it receives (and the
//   seq of each ack), so the server's delivery cursor moves exactly past
//   what the page got; a page opened later (after a reload, or on another
//   device) first receives everything sent after that: the offline messages.
//   The same socket brings a group's events (kicks, mutes, renames, …),
//   acknowledged like messages and shown as lines in the conversation, and
//   the notices of friend and join requests.
import {
  TimClient,
  TimError,
  unwrap,
  type EventFrame,
  type FriendPolicy,
  type FriendRequest,
  type Group,
  type GroupMember,
  type GroupRole,
  type JoinPolicy,
  type JoinRequest,
  type MessageFrame,
  type MessageKind,
  type User,
} from "../client/client.js";
import { TimSocket, type UserServerFrame } from "../client/socket.js";
import { Conversations, directKey, groupKey, keyOf, parseKey, type ConvKey } from "./conversations.js";
import { byId, field, h } from "./dom.js";
import { asMessage, clock, eventLine } from "./events.js";
import { blockItem, focusKey, joinRequestItem, memberItem, refocus, requestItem, sentItem } from "./social.js";

const ui = {
  status: byId("status", HTMLParagraphElement),
  me: byId("me", HTMLDivElement),
  meAvatar: byId("me-avatar", HTMLSpanElement),
  meName: byId("me-name", HTMLSpanElement),
  connection: byId("connection", HTMLSpanElement),
  avatarFile: byId("avatar-file", HTMLInputElement),
  logout: byId("logout", HTMLButtonElement),
  auth: byId("auth", HTMLElement),
  loginForm: byId("login-form", HTMLFormElement),
  registerForm: byId("register-form", HTMLFormElement),
  chat: byId("chat", HTMLElement),
  friends: byId("friends", HTMLUListElement),
  addFriendForm: byId("add-friend-form", HTMLFormElement),
  groups: byId("groups", HTMLUListElement),
  createGroupForm: byId("create-group-form", HTMLFormElement),
  joinGroupForm: byId("join-group-form", HTMLFormElement),
  convTitle: byId("conv-title", HTMLHeadingElement),
  leaveGroup: byId("leave-group", HTMLButtonElement),
  requestsSection: byId("requests-section", HTMLElement),
  requests: byId("friend-requests", HTMLUListElement),
  sentSection: byId("sent-section", HTMLElement),
  sent: byId("sent-requests", HTMLUListElement),
  blocksSection: byId("blocks-section", HTMLElement),
  blocks: byId("blocks", HTMLUListElement),
  profileForm: byId("profile-form", HTMLFormElement),
  blockContact: byId("block-contact", HTMLButtonElement),
  groupInfo: byId("group-info", HTMLButtonElement),
  announcement: byId("announcement", HTMLParagraphElement),
  groupPanel: byId("group-panel", HTMLElement),
  members: byId("members", HTMLUListElement),
  joinRequestsPart: byId("join-requests-part", HTMLDivElement),
  joinRequests: byId("join-requests", HTMLUListElement),
  groupAdmin: byId("group-admin", HTMLDivElement),
  renameForm: byId("rename-form", HTMLFormElement),
  announcementForm: byId("announcement-form", HTMLFormElement),
  muteGroup: byId("mute-group", HTMLInputElement),
  joinPolicy: byId("join-policy", HTMLSelectElement),
  dissolveGroup: byId("dissolve-group", HTMLButtonElement),
  messages: byId("messages", HTMLOListElement),
  sendForm: byId("send-form", HTMLFormElement),
  pictureFile: byId("picture-file", HTMLInputElement),
};

// ---- status line and errors ------------------------------------------------

function say(text: string, kind: "info" | "error" = "info"): void {
  ui.status.textContent = text;
  ui.status.dataset["kind"] = kind;
}

/** report shows an error; a refusal by the server shows its own message. */
function report(err: unknown): void {
  if (err instanceof TimError) {
    say(`${err.message} (${err.status})`, "error");
    return;
  }
  console.error(err); // not expected: worth a look in the console
  say(err instanceof Error ? err.message : String(err), "error");
}

/** on adds an event handler whose errors, thrown or rejected, are reported. */
function on<E extends Event>(target: EventTarget, type: string, handler: (ev: E) => void | Promise<void>): void {
  target.addEventListener(type, (ev) => {
    try {
      const done = handler(ev as E);
      if (done) done.catch(report);
    } catch (err) {
      report(err);
    }
  });
}

// ---- the session: a token and the user, kept across reloads ---------------

interface Session {
  token: string;
  user: User;
  /** The friend policy this page last set; the server shows it only when it is changed. */
  friendPolicy?: FriendPolicy;
}

const sessionKey = "tim.session";

function loadSession(): Session | undefined {
  const raw = localStorage.getItem(sessionKey);
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as Session;
  } catch {
    localStorage.removeItem(sessionKey);
    return undefined;
  }
}

function saveSession(s: Session): void {
  localStorage.setItem(sessionKey, JSON.stringify(s));
}

// ---- the chat, once logged in ---------------------------------------------

class Chat {
  readonly client: TimClient;
  me: User;
  friends: User[] = [];
  groups: Group[] = [];
  online = new Set<string>();
  convs = new Conversations();
  open: ConvKey | undefined;
  socket: TimSocket<"user"> | undefined;
  /** Pending friend requests to me (in) and from me (out), newest first. */
  requestsIn: FriendRequest[] = [];
  requestsOut: FriendRequest[] = [];
  /** The accounts I block. */
  blocked: User[] = [];
  friendPolicy: FriendPolicy | undefined;
  /** The open group's members and join requests, while its panel is open. */
  panelOpen = false;
  members: GroupMember[] = [];
  joinRequests: JoinRequest[] = [];
  #stopped = false;
  #retries = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #sent = 0;
  /** This page's sends not acked yet, by clientMsgId: the ack is all the
   * sending socket gets of its own message, so it shows the message. */
  #pending = new Map<string, { text: string; kind: MessageKind; to: ConvKey }>();
  /** The elements of the open conversation's messages, by id. */
  #shown = new Map<number, HTMLLIElement>();

  constructor(client: TimClient, me: User, friendPolicy?: FriendPolicy) {
    this.client = client;
    this.me = me;
    this.friendPolicy = friendPolicy;
  }

  async start(): Promise<void> {
    ui.auth.hidden = true;
    ui.chat.hidden = false;
    ui.me.hidden = false;
    this.renderMe();
    this.renderConversation();
    this.renderProfile();
    await Promise.all([this.loadProfile(), this.loadFriends(), this.loadGroups(), this.loadRequests(), this.loadBlocks()]);
    this.connect();
  }

  /** loadProfile reads the account's own friend policy from the server. */
  async loadProfile(): Promise<void> {
    const profile = unwrap(await this.client.api.GET("/Tim/profile", { params: { query: { account: this.me.account } } })).data;
    this.friendPolicy = profile.friendPolicy;
    this.renderProfile();
  }

  /** stop closes the socket and stops reconnecting. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.socket?.close();
  }

  // -- the socket --

  connect(): void {
    const s = new TimSocket(this.client.baseUrl, { kind: "user", account: this.me.account }, {
      token: this.client.token ?? "",
      ack: true,
    });
    this.socket = s;
    s.onFrame((frame) => {
      try {
        this.onFrame(s, frame);
      } catch (err) {
        report(err);
      }
    });
    s.onInvalid(report);
    void s.closed.then(({ code }) => this.onClosed(s, code));
  }

  onFrame(s: TimSocket<"user">, f: UserServerFrame): void {
    switch (f.type) {
      case "connected":
        break;
      case "users": {
        // The user first, then the friends online now.
        const again = this.#retries > 0;
        this.#retries = 0;
        this.online = new Set(f.users.slice(1).map((u) => u.account));
        this.setConnected(true);
        this.renderLists();
        if (again) void Promise.all([this.loadFriends(), this.loadGroups(), this.loadRequests(), this.loadBlocks()]).catch(report);
        break;
      }
      case "presence":
        if (f.online) this.online.add(f.account);
        else this.online.delete(f.account);
        if (this.friends.some((u) => u.account === f.account)) this.renderLists();
        else void this.loadFriends().catch(report);
        break;
      case "message":
        this.receive(s, f);
        break;
      case "recall": {
        const key = f.groupId !== undefined ? groupKey(f.groupId) : directKey(f.by === this.me.account ? (f.with ?? "") : f.by);
        this.ack(s, key, f.seq);
        if (this.convs.recall(f.id) === this.open) this.renderMessages();
        break;
      }
      case "ack": {
        // A typed send gets its ack, not the message: the page shows its
        // own message from what it sent and what the ack says.
        const sent = f.clientMsgId === undefined ? undefined : this.#pending.get(f.clientMsgId);
        if (sent === undefined || f.clientMsgId === undefined) break;
        this.#pending.delete(f.clientMsgId);
        const m: MessageFrame = {
          type: "message",
          id: f.id,
          seq: f.seq,
          fromUser: this.me.account,
          message: sent.text,
          kind: sent.kind,
          time: f.time,
          clientMsgId: f.clientMsgId,
        };
        if (f.groupId !== undefined) m.groupId = f.groupId;
        else m.to = f.to;
        if (f.media !== undefined) m.media = f.media;
        this.receive(s, m);
        break;
      }
      case "error": {
        // A refused send: nothing was stored, and no ack will come.
        const sent = f.clientMsgId === undefined ? undefined : this.#pending.get(f.clientMsgId);
        if (f.clientMsgId !== undefined) this.#pending.delete(f.clientMsgId);
        // Refused in a group this page still lists: it may have lost the
        // group without hearing of it; the list says.
        if (f.code === 403 && f.mutedUntil === undefined && sent?.to.startsWith("g:")) void this.loadGroups().catch(report);
        const until = f.mutedUntil === undefined ? "" : ` until ${clock(f.mutedUntil)}`;
        say(`${f.message}${until} (${f.code})`, "error");
        break;
      }
      case "event": {
        const key = groupKey(f.groupId);
        // An event that takes the group from this account is not acked:
        // the account has no cursor there any more (the ack would be refused).
        const lost = f.event === "dissolve" || (f.event === "kick" && f.target === this.me.account);
        if (!lost) this.ack(s, key, f.seq);
        const isNew = this.convs.add(key, asMessage(f));
        if (key === this.open) this.renderMessages();
        if (isNew) this.onEvent(f);
        break;
      }
      case "friendRequest": {
        const r: FriendRequest = { id: f.id, from: f.from, to: this.me.account, message: f.message, time: f.time, status: "pending" };
        this.requestsIn = [r, ...this.requestsIn.filter((x) => x.id !== f.id)];
        this.renderRequests();
        say(`${f.from} asks to be your friend`);
        break;
      }
      case "friendAdded":
        this.requestsIn = this.requestsIn.filter((r) => r.from !== f.account);
        this.requestsOut = this.requestsOut.filter((r) => r.to !== f.account);
        this.renderRequests();
        void this.loadFriends().catch(report);
        say(`${f.account} is now your friend`);
        break;
      case "friendRemoved":
        if (this.open === directKey(f.account)) this.openConversation(undefined);
        void this.loadFriends().catch(report);
        break;
      case "groupRemoved":
        // The notice that follows the loss of a group: the kick or dissolve
        // event may not have reached this socket, which lost the group at
        // that moment. When it did, the group is gone already.
        if (this.groups.some((g) => g.id === f.groupId)) {
          const name = this.groupName(f.groupId);
          this.dropGroup(f.groupId);
          say(f.reason === "kicked" ? `You were removed from ${name} by ${this.nameOf(f.by)}` : `${name} was dissolved`);
        }
        break;
      case "joinRequest":
        if (this.panelOpen && this.open === groupKey(f.groupId)) void this.loadMembers(f.groupId).catch(report);
        say(`${f.account} asks to join ${this.groupName(f.groupId)}`);
        break;
      case "joinRequestAnswered":
        if (f.accepted) void this.loadGroups().catch(report);
        say(f.accepted ? `You joined ${this.groupName(f.groupId)}` : `Your request to join #${f.groupId} was declined`);
        break;
    }
  }

  /** onEvent applies what a group's new event changes beyond its line in the conversation. */
  onEvent(e: EventFrame): void {
    const me = this.me.account;
    const panel = this.panelOpen && this.open === groupKey(e.groupId);
    switch (e.event) {
      case "kick":
      case "dissolve":
        if (e.event === "dissolve" || e.target === me) {
          // This account lost the group: it leaves the list and the view.
          const name = this.groupName(e.groupId);
          this.dropGroup(e.groupId);
          say(e.event === "kick" ? `You were removed from ${name} by ${this.nameOf(e.actor)}` : `${name} was dissolved`);
          return;
        }
        break;
      case "mute":
        if (e.target === me) {
          say(e.mutedUntil === undefined ? `You may send in ${this.groupName(e.groupId)} again` : `You are muted in ${this.groupName(e.groupId)} until ${clock(e.mutedUntil)}`);
        }
        break;
      case "rename":
      case "announcement":
      case "muteGroup":
      case "transfer":
        void this.loadGroups().catch(report);
        break;
      case "join":
        if ((e.target ?? e.actor) === me && !this.groups.some((g) => g.id === e.groupId)) void this.loadGroups().catch(report);
        break;
    }
    if (panel) void this.loadMembers(e.groupId).catch(report);
  }

  /** dropGroup forgets a group this account is no longer in. */
  dropGroup(id: number): void {
    this.groups = this.groups.filter((g) => g.id !== id);
    if (this.open === groupKey(id)) this.openConversation(undefined);
    this.renderLists();
  }

  groupName(id: number): string {
    const g = this.groups.find((x) => x.id === id);
    return g === undefined ? `#${id}` : `${g.name} #${id}`;
  }

  receive(s: TimSocket<"user">, m: MessageFrame): void {
    const key = keyOf(m, this.me.account);
    this.ack(s, key, m.seq);
    const isNew = this.convs.add(key, m);
    if (isNew && key !== this.open && m.fromUser !== this.me.account) this.convs.bumpUnread(key);
    if (key === this.open) this.renderMessages();
    this.renderLists();
    // A message from someone who just befriended us, or of a group joined elsewhere.
    const peer = parseKey(key);
    if (peer.kind === "direct" && !this.friends.some((u) => u.account === peer.account)) void this.loadFriends().catch(report);
    if (peer.kind === "group" && !this.groups.some((g) => g.id === peer.id)) void this.loadGroups().catch(report);
  }

  /** ack confirms delivery up to seq, so that the cursor moves past it. */
  ack(s: TimSocket<"user">, key: ConvKey, seq: number): void {
    const c = parseKey(key);
    s.send(c.kind === "group" ? { type: "ack", groupId: c.id, seq } : { type: "ack", with: c.account, seq });
  }

  onClosed(s: TimSocket<"user">, code: number): void {
    if (this.socket !== s || this.#stopped) return;
    this.setConnected(false);
    if (code === 4001) {
      endSession("The session ended (logged out elsewhere, or expired): log in again.");
      return;
    }
    const seconds = Math.min(30, 2 ** this.#retries++);
    say(`Disconnected (${code}); reconnecting in ${seconds} s`);
    this.#retryTimer = setTimeout(() => this.connect(), seconds * 1000);
  }

  setConnected(connected: boolean): void {
    ui.connection.classList.toggle("online", connected);
    ui.me.dataset["connected"] = String(connected);
    if (connected) say("Connected");
  }

  send(text: string, kind: MessageKind = "text"): void {
    const s = this.socket;
    if (this.open === undefined) return;
    if (s === undefined || s.socket.readyState !== WebSocket.OPEN) throw new Error("Not connected: nothing was sent");
    const to = parseKey(this.open);
    // Resending under the same clientMsgId would store the message once.
    const clientMsgId = `${Date.now().toString(36)}-${++this.#sent}`;
    this.#pending.set(clientMsgId, { text, kind, to: this.open });
    s.send(
      to.kind === "group"
        ? { type: "send", groupId: to.id, text, kind, clientMsgId }
        : { type: "send", to: to.account, text, kind, clientMsgId },
    );
  }

  // -- HTTP --

  async loadFriends(): Promise<void> {
    const friends = unwrap(await this.client.api.GET("/Tim/getFriends", { params: { query: { account: this.me.account } } })).data;
    this.friends = friends;
    for (const f of friends) if (f.onlineStatus === 1) this.online.add(f.account);
    this.renderLists();
  }

  async loadGroups(): Promise<void> {
    this.groups = unwrap(await this.client.api.GET("/Tim/getGroups", { params: { query: { account: this.me.account } } })).data;
    if (this.open?.startsWith("g:") && !this.groups.some((g) => groupKey(g.id) === this.open)) this.openConversation(undefined);
    else if (this.open?.startsWith("g:")) this.renderConversation(); // its name, announcement or mute may have changed
    this.renderLists();
  }

  /**
   * addFriend befriends account at once (its policy is open), or sends it
   * a request (approval), which shows among the sent requests.
   */
  async addFriend(account: string, message: string): Promise<void> {
    const res = await this.client.api.POST("/Tim/addFriend", {
      params: { query: { UserAccount: this.me.account, FriendAccount: account } },
      body: message === "" ? {} : { message },
    });
    const data = unwrap(res);
    if (res.response.status === 202) {
      const r = data.data as FriendRequest;
      this.requestsOut = [r, ...this.requestsOut.filter((x) => x.id !== r.id)];
      this.renderRequests();
      say(`Friend request sent to ${account}`);
      return;
    }
    await Promise.all([this.loadFriends(), this.loadRequests()]);
    this.openConversation(directKey(account));
  }

  async loadRequests(): Promise<void> {
    const [inbox, outbox] = await Promise.all(
      (["in", "out"] as const).map(async (box) =>
        unwrap(await this.client.api.GET("/Tim/friendRequests", { params: { query: { account: this.me.account, box } } })).data,
      ),
    );
    this.requestsIn = inbox ?? [];
    this.requestsOut = outbox ?? [];
    this.renderRequests();
  }

  async answerRequest(id: number, accept: boolean): Promise<void> {
    const r = this.requestsIn.find((x) => x.id === id);
    try {
      unwrap(await this.client.api.POST("/Tim/answerFriendRequest", { params: { query: { UserAccount: this.me.account, id, accept } } }));
    } finally {
      // Answered here, or elsewhere, withdrawn or expired (409): it is no longer pending.
      this.requestsIn = this.requestsIn.filter((x) => x.id !== id);
      this.renderRequests();
    }
    if (accept) {
      await this.loadFriends();
      if (r !== undefined) say(`${r.from} is now your friend`);
    }
  }

  async cancelRequest(id: number): Promise<void> {
    try {
      unwrap(await this.client.api.POST("/Tim/cancelFriendRequest", { params: { query: { UserAccount: this.me.account, id } } }));
    } finally {
      this.requestsOut = this.requestsOut.filter((x) => x.id !== id);
      this.renderRequests();
    }
    say("Friend request withdrawn");
  }

  async loadBlocks(): Promise<void> {
    this.blocked = unwrap(await this.client.api.GET("/Tim/blocks", { params: { query: { account: this.me.account } } })).data;
    this.renderBlocks();
    this.renderLists();
    this.renderConversation();
  }

  isBlocked(account: string): boolean {
    return this.blocked.some((u) => u.account === account);
  }

  async setBlocked(account: string, block: boolean): Promise<void> {
    const query = { query: { UserAccount: this.me.account, TargetAccount: account } };
    unwrap(await (block ? this.client.api.POST("/Tim/block", { params: query }) : this.client.api.POST("/Tim/unblock", { params: query })));
    await Promise.all([this.loadBlocks(), this.loadRequests()]);
    say(block ? `You block ${account}: they cannot send to you or see you online` : `You no longer block ${account}`);
  }

  async saveProfile(friendPolicy: FriendPolicy): Promise<void> {
    const profile = unwrap(await this.client.api.POST("/Tim/updateProfile", { params: { query: { UserAccount: this.me.account } }, body: { friendPolicy } })).data;
    this.friendPolicy = profile.friendPolicy;
    saveSession({ token: this.client.token ?? "", user: this.me, friendPolicy: this.friendPolicy });
    this.renderProfile();
    say("Settings saved");
  }

  // -- a group's members and administration --

  /** loadMembers reads the open group's members and, for its owner and admins, its join requests. */
  async loadMembers(id: number): Promise<void> {
    const members = unwrap(await this.client.api.GET("/Tim/getGroupMembers", { params: { query: { account: this.me.account, GroupID: id } } })).data;
    if (this.open !== groupKey(id)) return;
    this.members = members;
    const role = this.myRole();
    this.joinRequests =
      role === "owner" || role === "admin"
        ? unwrap(await this.client.api.GET("/Tim/joinRequests", { params: { query: { account: this.me.account, GroupID: id } } })).data
        : [];
    this.renderPanel();
  }

  myRole(): GroupRole | undefined {
    return this.members.find((m) => m.account === this.me.account)?.role;
  }

  /** The group of the open conversation, if it is one. */
  openGroupId(): number | undefined {
    const c = this.open === undefined ? undefined : parseKey(this.open);
    return c?.kind === "group" ? c.id : undefined;
  }

  async memberAction(action: string, account: string): Promise<void> {
    const id = this.openGroupId();
    if (id === undefined) return;
    const query = { UserAccount: this.me.account, GroupID: id, TargetAccount: account };
    switch (action) {
      case "kick":
        unwrap(await this.client.api.POST("/Tim/kickMember", { params: { query } }));
        break;
      case "mute":
        unwrap(await this.client.api.POST("/Tim/muteMember", { params: { query: { ...query, seconds: 600 } } }));
        break;
      case "unmute":
        unwrap(await this.client.api.POST("/Tim/muteMember", { params: { query: { ...query, seconds: 0 } } }));
        break;
      case "admin":
      case "member":
        unwrap(await this.client.api.POST("/Tim/setGroupRole", { params: { query: { ...query, role: action } } }));
        break;
      case "transfer":
        if (!confirm(`Hand the group over to ${this.nameOf(account)}? You stay an admin.`)) return;
        unwrap(await this.client.api.POST("/Tim/transferGroup", { params: { query } }));
        break;
      default:
        return;
    }
    await this.loadMembers(id);
  }

  async updateGroup(body: { name?: string; announcement?: string; joinPolicy?: JoinPolicy }): Promise<void> {
    const id = this.openGroupId();
    if (id === undefined) return;
    unwrap(await this.client.api.POST("/Tim/updateGroup", { params: { query: { UserAccount: this.me.account, GroupID: id } }, body }));
    await this.loadGroups();
    say("Group updated");
  }

  async setGroupMuted(muted: boolean): Promise<void> {
    const id = this.openGroupId();
    if (id === undefined) return;
    unwrap(await this.client.api.POST("/Tim/muteGroup", { params: { query: { UserAccount: this.me.account, GroupID: id, muted } } }));
    await this.loadGroups();
  }

  /** dissolve ends the open group for everyone: its owner only. */
  async dissolve(): Promise<void> {
    const id = this.openGroupId();
    if (id === undefined || !confirm(`Dissolve ${this.groupName(id)} for all its members? This cannot be undone.`)) return;
    unwrap(await this.client.api.POST("/Tim/dissolveGroup", { params: { query: { UserAccount: this.me.account, GroupID: id } } }));
    this.dropGroup(id);
    say("Group dissolved");
  }

  async answerJoin(requestId: number, accept: boolean): Promise<void> {
    const id = this.openGroupId();
    try {
      unwrap(await this.client.api.POST("/Tim/answerJoinRequest", { params: { query: { UserAccount: this.me.account, id: requestId, accept } } }));
    } finally {
      this.joinRequests = this.joinRequests.filter((r) => r.id !== requestId);
      this.renderPanel();
    }
    if (id !== undefined) await this.loadMembers(id);
  }

  togglePanel(): void {
    this.panelOpen = !this.panelOpen;
    const id = this.openGroupId();
    this.renderPanel();
    if (this.panelOpen && id !== undefined) void this.loadMembers(id).catch(report);
  }

  async createGroup(name: string): Promise<void> {
    const group = unwrap(await this.client.api.POST("/Tim/createGroup", { params: { query: { UserAccount: this.me.account, GroupName: name } } })).data;
    await this.loadGroups();
    this.openConversation(groupKey(group.id));
    say(`Created group ${group.name}: others join it with id ${group.id}`);
  }

  async joinGroup(id: number): Promise<void> {
    const res = await this.client.api.POST("/Tim/joinGroup", { params: { query: { UserAccount: this.me.account, GroupID: id } } });
    const data = unwrap(res);
    if (res.response.status === 202) {
      say(`Asked to join #${id}: its owner or an admin will answer`);
      return;
    }
    await this.loadGroups();
    this.openConversation(groupKey((data.data as Group).id));
  }

  async leaveGroup(id: number): Promise<void> {
    unwrap(await this.client.api.POST("/Tim/leaveGroup", { params: { query: { UserAccount: this.me.account, GroupID: id } } }));
    await this.loadGroups();
    say("Left the group");
  }

  /** loadHistory fetches the newest page of a conversation. */
  async loadHistory(key: ConvKey): Promise<void> {
    const c = parseKey(key);
    const page =
      c.kind === "group"
        ? unwrap(await this.client.api.GET("/Tim/groupMessages", { params: { query: { account: this.me.account, GroupID: c.id } } }))
        : unwrap(await this.client.api.GET("/Tim/messages", { params: { query: { account: this.me.account, with: c.account } } }));
    for (const m of page.data) this.convs.add(key, m);
    if (this.open === key) this.renderMessages();
  }

  async sendPicture(file: File): Promise<void> {
    if (this.open === undefined) return;
    say(`Sending ${file.name}…`);
    const name = await this.client.upload("chatpic", file);
    this.send(name, "image");
    say("Picture sent");
  }

  async uploadAvatar(file: File): Promise<void> {
    const name = await this.client.uploadAvatar(file);
    // The avatar's path stays the same; the upload's name makes it new to the browser's cache.
    const path = `/Tim/avatar?account=${encodeURIComponent(this.me.account)}&v=${encodeURIComponent(name)}`;
    this.me = { ...this.me, avatarUrl: path };
    saveSession({ token: this.client.token ?? "", user: this.me });
    this.renderMe();
    say("Avatar updated");
  }

  // -- rendering --

  openConversation(key: ConvKey | undefined): void {
    if (key !== this.open) {
      this.panelOpen = false;
      this.members = [];
      this.joinRequests = [];
    }
    this.open = key;
    this.#shown.clear();
    if (key !== undefined) {
      this.convs.markRead(key);
      void this.loadHistory(key).catch(report);
    }
    this.renderConversation();
    this.renderLists();
  }

  renderMe(): void {
    ui.meName.textContent = `${this.me.username} (${this.me.account})`;
    ui.meAvatar.replaceChildren(...avatarContent(this.client, this.me));
  }

  renderLists(): void {
    ui.friends.replaceChildren(
      ...this.friends.map((f) => {
        const key = directKey(f.account);
        const online = this.online.has(f.account);
        return h(
          "li",
          {},
          h(
            "button",
            { type: "button", class: key === this.open ? "active" : undefined, "data-conv": key, "data-account": f.account },
            h("span", { class: online ? "dot online" : "dot", "data-online": String(online), title: online ? "online" : "offline" }),
            h("span", { class: "avatar" }, ...avatarContent(this.client, f)),
            h("span", { class: "name" }, f.username === f.account ? f.account : `${f.username} (${f.account})`),
            this.isBlocked(f.account) ? h("span", { class: "tag" }, "blocked") : null,
            h("span", { class: "unread" }, unreadText(this.convs.unread(key))),
          ),
        );
      }),
    );
    ui.groups.replaceChildren(
      ...this.groups.map((g) => {
        const key = groupKey(g.id);
        return h(
          "li",
          {},
          h(
            "button",
            { type: "button", class: key === this.open ? "active" : undefined, "data-conv": key, "data-group-id": g.id },
            h("span", { class: "name" }, `${g.name} #${g.id}`),
            h("span", { class: "unread" }, unreadText(this.convs.unread(key))),
          ),
        );
      }),
    );
  }

  renderConversation(): void {
    const c = this.open === undefined ? undefined : parseKey(this.open);
    if (c === undefined) {
      ui.convTitle.textContent = "Pick a friend or a group";
    } else if (c.kind === "direct") {
      const f = this.friends.find((u) => u.account === c.account);
      ui.convTitle.textContent = f ? `${f.username} (${f.account})` : c.account;
    } else {
      const g = this.groups.find((x) => x.id === c.id);
      ui.convTitle.textContent = g ? `${g.name} #${g.id}` : `#${c.id}`;
    }
    ui.leaveGroup.hidden = c?.kind !== "group";
    ui.groupInfo.hidden = c?.kind !== "group";
    ui.blockContact.hidden = c?.kind !== "direct";
    if (c?.kind === "direct") {
      const blocked = this.isBlocked(c.account);
      ui.blockContact.textContent = blocked ? "Unblock" : "Block";
      ui.blockContact.dataset["account"] = c.account;
      ui.blockContact.dataset["block"] = String(!blocked);
      ui.blockContact.setAttribute("aria-label", `${blocked ? "Unblock" : "Block"} ${this.nameOf(c.account)}`);
    }
    const group = c?.kind === "group" ? this.groups.find((g) => g.id === c.id) : undefined;
    ui.announcement.hidden = !group?.announcement;
    ui.announcement.textContent = group?.announcement ? `Announcement: ${group.announcement}` : "";
    ui.sendForm.hidden = c === undefined;
    this.renderPanel();
    this.renderMessages();
  }

  renderProfile(): void {
    const select = field(ui.profileForm, "friendPolicy");
    select.value = this.friendPolicy ?? "";
  }

  renderRequests(): void {
    const focused = focusKey(ui.requests);
    ui.requestsSection.hidden = this.requestsIn.length === 0;
    ui.requests.replaceChildren(...this.requestsIn.map(requestItem));
    refocus(ui.requests, focused);
    ui.sentSection.hidden = this.requestsOut.length === 0;
    ui.sent.replaceChildren(...this.requestsOut.map(sentItem));
  }

  renderBlocks(): void {
    ui.blocksSection.hidden = this.blocked.length === 0;
    ui.blocks.replaceChildren(...this.blocked.map(blockItem));
  }

  /** renderPanel shows the open group's members, with the actions the viewer's role allows. */
  renderPanel(): void {
    const id = this.openGroupId();
    const open = this.panelOpen && id !== undefined;
    ui.groupPanel.hidden = !open;
    ui.groupInfo.setAttribute("aria-expanded", String(open));
    ui.groupInfo.textContent = open ? "Hide members" : "Members";
    if (!open) return;
    const focused = focusKey(ui.groupPanel);
    const viewer = { account: this.me.account, role: this.myRole(), nameOf: (a: string) => this.nameOf(a) };
    const now = Date.now();
    ui.members.replaceChildren(...this.members.map((m) => memberItem(m, viewer, now)));
    const manager = viewer.role === "owner" || viewer.role === "admin";
    ui.joinRequestsPart.hidden = !manager || this.joinRequests.length === 0;
    ui.joinRequests.replaceChildren(...this.joinRequests.map(joinRequestItem));
    ui.groupAdmin.hidden = !manager;
    ui.dissolveGroup.hidden = viewer.role !== "owner";
    const group = this.groups.find((g) => g.id === id);
    if (manager && group !== undefined) {
      const name = field(ui.renameForm, "name");
      if (document.activeElement !== name) name.value = group.name;
      const text = ui.announcementForm.elements.namedItem("announcement");
      if (text instanceof HTMLTextAreaElement && document.activeElement !== text) text.value = group.announcement;
      ui.muteGroup.checked = group.muted;
      ui.joinPolicy.value = group.joinPolicy;
    }
    refocus(ui.groupPanel, focused);
  }

  renderMessages(): void {
    const list = this.open === undefined ? [] : this.convs.list(this.open);
    ui.messages.replaceChildren(
      ...list.map((m) => {
        let el = this.#shown.get(m.id);
        if (el === undefined || el.dataset["recalled"] !== String(m.recalled === true)) {
          el = this.messageElement(m);
          this.#shown.set(m.id, el);
        }
        return el;
      }),
    );
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  /** nameOf is how an account is shown: itself, a friend or a member of the open group by name, anyone else by account. */
  nameOf(account: string): string {
    if (account === this.me.account) return this.me.username;
    return (this.friends.find((u) => u.account === account) ?? this.members.find((u) => u.account === account))?.username ?? account;
  }

  messageElement(m: MessageFrame): HTMLLIElement {
    if (m.event !== undefined) {
      return h(
        "li",
        { class: "event", "data-id": m.id, "data-seq": m.seq, "data-event": m.event.event, title: new Date(m.time).toLocaleString() },
        eventLine(m.event, (a) => this.nameOf(a)),
      );
    }
    const mine = m.fromUser === this.me.account;
    let body: Node;
    if (m.recalled === true) {
      body = h("span", { class: "recalled" }, "message recalled");
    } else if (m.media !== undefined && m.kind === "image") {
      body = h("img", { src: this.client.withToken(m.media.url), width: m.media.width, height: m.media.height, alt: "picture" });
    } else if (m.media !== undefined && m.kind === "audio") {
      body = h("audio", { src: this.client.withToken(m.media.url), controls: true, preload: "none" });
    } else if (m.media !== undefined && m.kind === "video") {
      body = h("video", { src: this.client.withToken(m.media.url), controls: true, preload: "metadata" });
    } else {
      body = h("span", { class: "text" }, m.message);
    }
    return h(
      "li",
      { class: mine ? "msg mine" : "msg", "data-id": m.id, "data-seq": m.seq, "data-kind": m.kind, "data-recalled": String(m.recalled === true) },
      m.groupId !== undefined && !mine ? h("span", { class: "from" }, this.nameOf(m.fromUser)) : null,
      body,
      h("time", { datetime: m.time }, new Date(m.time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
    );
  }
}

function unreadText(n: number): string {
  return n === 0 ? "" : String(n);
}

/** avatarContent is a user's picture, or their initial. */
function avatarContent(client: TimClient, u: User): Node[] {
  const url = client.avatarUrl(u);
  if (url !== null) return [h("img", { src: url, alt: "" })];
  return [document.createTextNode(Array.from(u.username)[0]?.toUpperCase() ?? "?")];
}

// ---- wiring ----------------------------------------------------------------

let chat: Chat | undefined;

async function begin(client: TimClient, user: User, friendPolicy?: FriendPolicy): Promise<void> {
  chat = new Chat(client, user, friendPolicy);
  await chat.start();
}

/** endSession forgets the token and shows the login form. */
function endSession(message: string): void {
  chat?.stop();
  chat = undefined;
  localStorage.removeItem(sessionKey);
  ui.chat.hidden = true;
  ui.me.hidden = true;
  ui.auth.hidden = false;
  say(message);
}

async function login(account: string, password: string): Promise<void> {
  const client = new TimClient({ baseUrl: location.origin });
  const { user, token } = await client.login(account, password);
  saveSession({ token, user });
  await begin(client, user);
}

on<SubmitEvent>(ui.loginForm, "submit", async (ev) => {
  ev.preventDefault();
  const f = ui.loginForm;
  await login(field(f, "account").value, field(f, "password").value);
  f.reset();
});

on<SubmitEvent>(ui.registerForm, "submit", async (ev) => {
  ev.preventDefault();
  const f = ui.registerForm;
  const sex = field(f, "sex").value === "male" ? "male" : "female";
  const body = {
    account: field(f, "account").value,
    username: field(f, "username").value,
    password: field(f, "password").value,
    age: Number(field(f, "age").value),
    sex,
  } as const;
  const client = new TimClient({ baseUrl: location.origin });
  unwrap(await client.api.POST("/Tim/UserRegister", { body }));
  await login(body.account, body.password);
  f.reset();
});

on(ui.logout, "click", async () => {
  const c = chat;
  chat?.stop();
  try {
    await c?.client.logout();
  } finally {
    endSession("Logged out");
  }
});

on(ui.avatarFile, "change", async () => {
  const file = ui.avatarFile.files?.[0];
  ui.avatarFile.value = "";
  if (file !== undefined) await chat?.uploadAvatar(file);
});

on<SubmitEvent>(ui.addFriendForm, "submit", async (ev) => {
  ev.preventDefault();
  await chat?.addFriend(field(ui.addFriendForm, "account").value.trim(), field(ui.addFriendForm, "message").value.trim());
  ui.addFriendForm.reset();
});

on<SubmitEvent>(ui.createGroupForm, "submit", async (ev) => {
  ev.preventDefault();
  await chat?.createGroup(field(ui.createGroupForm, "name").value.trim());
  ui.createGroupForm.reset();
});

on<SubmitEvent>(ui.joinGroupForm, "submit", async (ev) => {
  ev.preventDefault();
  await chat?.joinGroup(Number(field(ui.joinGroupForm, "id").value));
  ui.joinGroupForm.reset();
});

on(ui.leaveGroup, "click", async () => {
  const c = chat?.open === undefined ? undefined : parseKey(chat.open);
  if (c?.kind === "group") await chat?.leaveGroup(c.id);
});

for (const list of [ui.friends, ui.groups]) {
  on<MouseEvent>(list, "click", (ev) => {
    const button = ev.target instanceof Element ? ev.target.closest<HTMLButtonElement>("button[data-conv]") : null;
    const key = button?.dataset["conv"];
    if (key !== undefined) chat?.openConversation(key as ConvKey);
  });
}

/** clicked is the button of a click inside a list that has attribute name, if any. */
function clicked(ev: Event, name: string): HTMLButtonElement | null {
  return ev.target instanceof Element ? ev.target.closest<HTMLButtonElement>(`button[${name}]`) : null;
}

on<MouseEvent>(ui.requests, "click", async (ev) => {
  const b = clicked(ev, "data-answer");
  if (b !== null) await chat?.answerRequest(Number(b.dataset["id"]), b.dataset["answer"] === "true");
});

on<MouseEvent>(ui.sent, "click", async (ev) => {
  const b = clicked(ev, "data-cancel");
  if (b !== null) await chat?.cancelRequest(Number(b.dataset["cancel"]));
});

on<MouseEvent>(ui.blocks, "click", async (ev) => {
  const b = clicked(ev, "data-unblock");
  const account = b?.dataset["unblock"];
  if (account !== undefined) await chat?.setBlocked(account, false);
});

on(ui.blockContact, "click", async () => {
  const account = ui.blockContact.dataset["account"];
  if (account !== undefined) await chat?.setBlocked(account, ui.blockContact.dataset["block"] === "true");
});

on<SubmitEvent>(ui.profileForm, "submit", async (ev) => {
  ev.preventDefault();
  const policy = field(ui.profileForm, "friendPolicy").value;
  if (policy === "open" || policy === "approval" || policy === "closed") await chat?.saveProfile(policy);
});

on(ui.groupInfo, "click", () => chat?.togglePanel());

on<MouseEvent>(ui.members, "click", async (ev) => {
  const b = clicked(ev, "data-action");
  const action = b?.dataset["action"];
  const account = b?.dataset["account"];
  if (action !== undefined && account !== undefined) await chat?.memberAction(action, account);
});

on<MouseEvent>(ui.joinRequests, "click", async (ev) => {
  const b = clicked(ev, "data-join-answer");
  if (b !== null) await chat?.answerJoin(Number(b.dataset["id"]), b.dataset["joinAnswer"] === "true");
});

on<SubmitEvent>(ui.renameForm, "submit", async (ev) => {
  ev.preventDefault();
  await chat?.updateGroup({ name: field(ui.renameForm, "name").value.trim() });
});

on<SubmitEvent>(ui.announcementForm, "submit", async (ev) => {
  ev.preventDefault();
  const text = ui.announcementForm.elements.namedItem("announcement");
  if (text instanceof HTMLTextAreaElement) await chat?.updateGroup({ announcement: text.value.trim() });
});

on(ui.joinPolicy, "change", async () => {
  const policy = ui.joinPolicy.value;
  if (policy === "open" || policy === "approval" || policy === "invite") await chat?.updateGroup({ joinPolicy: policy });
});

on(ui.dissolveGroup, "click", async () => {
  await chat?.dissolve();
});

on(ui.muteGroup, "change", async () => {
  await chat?.setGroupMuted(ui.muteGroup.checked);
});

on<SubmitEvent>(ui.sendForm, "submit", (ev) => {
  ev.preventDefault();
  const input = field(ui.sendForm, "text");
  if (input.value.trim() === "") return;
  chat?.send(input.value);
  input.value = "";
});

on(ui.pictureFile, "change", async () => {
  const file = ui.pictureFile.files?.[0];
  ui.pictureFile.value = "";
  if (file !== undefined) await chat?.sendPicture(file);
});

// A saved session resumes after a probe of its token: a browser cannot see
// why a socket's handshake failed, so the REST call tells (asyncapi.yaml,
// "What a browser sees of a refusal").
async function resume(): Promise<void> {
  const saved = loadSession();
  if (saved === undefined) return;
  const client = new TimClient({ baseUrl: location.origin, token: saved.token });
  const { response } = await client.api.GET("/Tim/getFriends", { params: { query: { account: saved.user.account } } });
  if (response.status === 401) {
    endSession("The session expired: log in again.");
    return;
  }
  await begin(client, saved.user, saved.friendPolicy);
}

resume().catch(report);

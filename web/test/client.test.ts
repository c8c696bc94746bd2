// Tests of the TypeScript client against a real Tim server, whose URL is in
// TIM_URL (internal/webclient starts one on a fresh database, compiles
// these files and runs them with node --test). Without TIM_URL only the
// tests that need no server run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TimClient, TimError, splitLogin, unwrap, type User } from "../client/client.js";
import {
  FrameParseError,
  TimSocket,
  parseServerFrame,
  type DirectServerFrame,
  type FrameOfType,
} from "../client/socket.js";

const url = process.env["TIM_URL"];
const live = url === undefined ? test.skip : test;
// No test may wait for ever: a frame that never comes fails its test.
const limit = { timeout: 60_000 };
const password = "secret-pass";

// A 1x1 PNG.
const png = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="),
  (c) => c.charCodeAt(0),
);

async function register(c: TimClient, account: string): Promise<void> {
  const { response, error } = await c.api.POST("/Tim/UserRegister", {
    body: { account, password, username: account, age: 30, sex: "female" },
  });
  assert.equal(response.status, 200, JSON.stringify(error));
}

async function loggedIn(account: string): Promise<{ client: TimClient; user: User; token: string }> {
  const client = new TimClient({ baseUrl: url! });
  await register(client, account);
  const { user, token } = await client.login(account, password);
  return { client, user, token };
}

test("splitLogin takes the user and the token by shape", () => {
  const user: User = { id: 1, username: "a", account: "a", sex: "male", age: 1, onlineStatus: 0, avatarUrl: null };
  assert.deepEqual(splitLogin([user, { token: "t" }]), { user, token: "t" });
  assert.deepEqual(splitLogin([{ token: "t" }, user]), { user, token: "t" });
  assert.throws(() => splitLogin([user, user]), TimError);
  assert.throws(() => splitLogin([{ token: "t" }]), TimError);
});

test("parseServerFrame accepts only the channel's frame types", () => {
  const f = parseServerFrame("user", '{"type":"users","users":[{"account":"a","username":"a"}]}');
  assert.equal(f.type, "users");
  if (f.type === "users") assert.equal(f.users[0]?.account, "a"); // narrowed by type
  assert.throws(() => parseServerFrame("direct", '{"type":"users","users":[]}'), FrameParseError);
  assert.throws(() => parseServerFrame("group", '{"type":"presence","account":"a","online":true}'), FrameParseError);
  assert.throws(() => parseServerFrame("user", '{"code":200,"message":"连接成功"}'), FrameParseError);
  assert.throws(() => parseServerFrame("user", "not json"), FrameParseError);
  assert.throws(() => parseServerFrame("user", "[1]"), FrameParseError);
});

test("every channel carries receipts and typing", () => {
  const receipt = '{"type":"receipt","reader":"b","with":"a","seq":3,"time":"2024-05-01T09:32:00Z"}';
  const typing = '{"type":"typing","from":"b","with":"b"}';
  for (const kind of ["user", "direct", "group"] as const) {
    const r = parseServerFrame(kind, receipt);
    assert.equal(r.type, "receipt");
    if (r.type === "receipt") assert.equal(r.seq, 3); // narrowed by type
    const t = parseServerFrame(kind, typing);
    if (t.type === "typing") assert.equal(t.from, "b");
    else assert.fail(`${kind}: typing parsed as ${t.type}`);
  }
  assert.throws(() => parseServerFrame("direct", '{"type":"read","with":"a","seq":3}'), FrameParseError);
});

live("login returns the user and the token, and later calls carry it", limit, async () => {
  const { client, user, token } = await loggedIn("alice");
  assert.equal(user.account, "alice");
  assert.equal(user.username, "alice");
  assert.equal(token.split(".").length, 3, "a JWT");
  assert.equal(client.token, token);
  const { data, response } = await client.api.GET("/Tim/getFriends", { params: { query: { account: "alice" } } });
  assert.equal(response.status, 200);
  assert.deepEqual(data?.data, []);

  // A client made from the token alone works as well.
  const again = new TimClient({ baseUrl: url!, token });
  const groups = await again.api.GET("/Tim/getGroups", { params: { query: { account: "alice" } } });
  assert.equal(groups.response.status, 200);
});

live("a refused login is a TimError with the envelope's message", limit, async () => {
  const client = new TimClient({ baseUrl: url! });
  await register(client, "carol");
  await assert.rejects(client.login("carol", "wrong-password"), (err: unknown) => {
    assert.ok(err instanceof TimError);
    assert.equal(err.status, 401);
    assert.equal(err.code, 401);
    assert.ok(err.message.length > 0);
    assert.ok(err.requestId, "the request id is readable");
    return true;
  });
  assert.equal(client.token, undefined);
});

live("uploads take a Blob or a File, downloads come back by URL", limit, async () => {
  const { client, token } = await loggedIn("dave");
  const name = await client.upload("chatpic", new Blob([png], { type: "image/png" }));
  assert.match(name, /^\d{4}-\d{2}-\d{2}:\d{2}:\d{2}:\d{2}-[0-9a-f]{32}$/);
  const res = await fetch(client.downloadUrl("chatpic", name));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Content-Type"), "image/png");
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), png);

  await client.uploadAvatar(new File([png], "me.png", { type: "image/png" }));
  const login = await client.login("dave", password);
  assert.notEqual(login.user.avatarUrl, null);
  const avatar = await fetch(client.avatarUrl(login.user)!);
  assert.equal(avatar.status, 200);
  assert.notEqual(login.token, token);

  // Not a picture: the server's refusal, typed.
  await assert.rejects(client.upload("chatpic", new Blob(["plain text"])), (err: unknown) => {
    assert.ok(err instanceof TimError);
    assert.equal(err.status, 415);
    return true;
  });
});

live("sockets parse frames into each channel's tagged union", limit, async () => {
  const alice = await loggedIn("erin");
  const bob = await loggedIn("frank");
  const added = await alice.client.api.GET("/Tim/addFriend", {
    params: { query: { UserAccount: "erin", FriendAccount: "frank" } },
  });
  assert.equal(added.response.status, 200);

  const inbox = new TimSocket(url!, { kind: "user", account: "frank" }, { token: bob.token });
  await inbox.opened;
  const connected = await inbox.next();
  assert.equal(connected.type, "connected");
  const users = await inbox.nextOf("users");
  assert.equal(users.users[0]?.account, "frank");

  const direct = new TimSocket(url!, { kind: "direct", account: "erin", friend: "frank" }, { token: alice.token });
  assert.equal((await direct.next()).type, "connected");
  direct.sendText("周六去爬山吗？");
  // The sender gets its ack and its own copy, in either order; both name
  // the same message.
  let ack: FrameOfType<DirectServerFrame, "ack"> | undefined;
  let own: FrameOfType<DirectServerFrame, "message"> | undefined;
  while (ack === undefined || own === undefined) {
    const f = await direct.next();
    if (f.type === "ack") ack = f;
    else if (f.type === "message") own = f;
  }
  assert.equal(own.id, ack.id);
  assert.equal(ack.to, "frank");
  const got = await inbox.nextOf("message");
  assert.equal(got.fromUser, "erin");
  assert.equal(got.message, "周六去爬山吗？");
  assert.equal(got.seq, ack.seq);

  // A typed send with a clientMsgId, from the user channel.
  inbox.send({ type: "send", to: "erin", text: "好的", clientMsgId: "c-1" });
  const ack2 = await inbox.nextOf("ack");
  assert.equal(ack2.clientMsgId, "c-1");

  direct.close();
  inbox.close();
  assert.equal((await direct.closed).code, 1000);
  await inbox.closed;
});

live("unwrap returns a call's data or throws the refusal; withToken makes download URLs", limit, async () => {
  const { client, token } = await loggedIn("grace");
  const groups = unwrap(await client.api.GET("/Tim/getGroups", { params: { query: { account: "grace" } } }));
  assert.deepEqual(groups.data, []);
  await assert.rejects(
    async () => unwrap(await client.api.GET("/Tim/getGroupMembers", { params: { query: { GroupID: 424242 } } })),
    (err: unknown) => err instanceof TimError && err.status === 404 && err.message.length > 0,
  );
  const u = new URL(client.withToken("/downloadchatpic?filename=a%3Ab"));
  assert.equal(u.origin, new URL(url!).origin);
  assert.equal(u.searchParams.get("filename"), "a:b");
  assert.equal(u.searchParams.get("token"), token);
});

live("read receipts, typing and the conversation list", limit, async () => {
  const alice = await loggedIn("gina");
  const bob = await loggedIn("hank");
  const added = await alice.client.api.GET("/Tim/addFriend", {
    params: { query: { UserAccount: "gina", FriendAccount: "hank" } },
  });
  assert.equal(added.response.status, 200);

  const inbox = new TimSocket(url!, { kind: "user", account: "hank" }, { token: bob.token });
  await inbox.nextOf("users");
  const direct = new TimSocket(url!, { kind: "direct", account: "gina", friend: "hank" }, { token: alice.token });
  assert.equal((await direct.next()).type, "connected");
  direct.send({ type: "send", to: "hank", text: "在吗？", clientMsgId: "g-1" });
  const ack = await direct.nextOf("ack");
  assert.equal((await inbox.nextOf("message")).seq, ack.seq);

  // hank's list shows the message unread, as a MessageFrame.
  const before = await bob.client.api.GET("/Tim/conversations", { params: { query: { account: "hank" } } });
  assert.equal(before.response.status, 200);
  const conv = before.data?.data.conversations[0];
  assert.equal(conv?.type, "direct");
  assert.equal(conv?.with, "gina");
  assert.equal(conv?.unread, 1);
  assert.equal(conv?.lastMessage?.id, ack.id);
  assert.equal(conv?.lastMessage?.clientMsgId, "g-1");

  // hank types and reads; gina's socket gets both, typed.
  inbox.send({ type: "typing", with: "gina" });
  const typing = await direct.nextOf("typing");
  assert.equal(typing.from, "hank");
  assert.equal(typing.with, "hank");
  inbox.send({ type: "read", with: "gina", seq: ack.seq });
  const receipt = await direct.nextOf("receipt");
  assert.equal(receipt.reader, "hank");
  assert.equal(receipt.with, "hank");
  assert.equal(receipt.seq, ack.seq);
  assert.equal((await inbox.nextOf("receipt")).with, "gina");

  const after = await bob.client.api.GET("/Tim/conversations", { params: { query: { account: "hank" } } });
  assert.equal(after.data?.data.conversations[0]?.unread, 0);
  const mine = await alice.client.api.GET("/Tim/conversations", { params: { query: { account: "gina" } } });
  assert.equal(mine.data?.data.conversations[0]?.peerReadSeq, ack.seq);

  direct.close();
  inbox.close();
  await direct.closed;
  await inbox.closed;
});

live("a refused handshake closes without opening", limit, async () => {
  const s = new TimSocket(url!, { kind: "group", account: "nobody", groupId: 1 }, { token: "not-a-token" });
  await assert.rejects(s.opened);
  const closed = await s.closed;
  assert.equal(closed.code, 1006);
});

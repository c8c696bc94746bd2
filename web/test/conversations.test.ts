// The web client's message store (web/app/conversations.ts): redeliveries
// and history overlap collapse by id, lists are in seq order.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { MessageFrame } from "../client/client.js";
import { Conversations, directKey, groupKey, keyOf, parseKey } from "../app/conversations.js";

const msg = (id: number, seq: number, from: string, to: { to: string } | { groupId: number }, text = `m${id}`): MessageFrame => ({
  type: "message",
  id,
  seq,
  fromUser: from,
  ...to,
  message: text,
  kind: "text",
  time: "2024-05-01T09:30:00Z",
});

test("keyOf names the conversation from the reader's side", () => {
  assert.equal(keyOf(msg(1, 1, "bob", { to: "alice" }), "alice"), "u:bob");
  assert.equal(keyOf(msg(1, 1, "alice", { to: "bob" }), "alice"), "u:bob"); // own copy
  assert.equal(keyOf(msg(1, 1, "bob", { groupId: 7 }), "alice"), "g:7");
  assert.deepEqual(parseKey(directKey("a.b@c")), { kind: "direct", account: "a.b@c" });
  assert.deepEqual(parseKey(groupKey(9007199254740991)), { kind: "group", id: 9007199254740991 });
});

test("a message seen twice is kept once, and lists come in seq order", () => {
  const c = new Conversations();
  const k = directKey("bob");
  assert.equal(c.add(k, msg(12, 3, "bob", { to: "alice" })), true);
  assert.equal(c.add(k, msg(10, 1, "bob", { to: "alice" })), true);
  assert.equal(c.add(k, msg(12, 3, "bob", { to: "alice" })), false);
  assert.equal(c.add(k, msg(11, 2, "alice", { to: "bob" })), true);
  assert.deepEqual(c.list(k).map((m) => m.seq), [1, 2, 3]);
  assert.deepEqual(c.list(groupKey(1)), []);
});

test("recall empties the message wherever it is", () => {
  const c = new Conversations();
  const m: MessageFrame = {
    ...msg(5, 1, "bob", { groupId: 7 }, "name"),
    kind: "image",
    media: { url: "/downloadchatpic?filename=x", mime: "image/png", size: 10, width: 1, height: 1 },
  };
  c.add(groupKey(7), m);
  assert.equal(c.recall(5), "g:7");
  const [r] = c.list(groupKey(7));
  assert.equal(r?.recalled, true);
  assert.equal(r?.message, "");
  assert.equal(r?.media, undefined);
  assert.equal(c.recall(99), undefined);
});

test("unread counts until read", () => {
  const c = new Conversations();
  const k = directKey("bob");
  assert.equal(c.unread(k), 0);
  c.bumpUnread(k);
  c.bumpUnread(k);
  assert.equal(c.unread(k), 2);
  c.markRead(k);
  assert.equal(c.unread(k), 0);
});

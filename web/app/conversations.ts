// The messages the client holds, by conversation. Frames can arrive more
// than once (a reconnect replays from the delivery cursor, history overlaps
// live frames, the sender's own sockets get a copy), so messages are kept
// by id and listed by seq.
import type { MessageFrame } from "../client/client.js";

/** A conversation: "u:<account>" with a friend, "g:<id>" a group. */
export type ConvKey = `u:${string}` | `g:${number}`;

export const directKey = (account: string): ConvKey => `u:${account}`;
export const groupKey = (id: number): ConvKey => `g:${id}`;

/** parseKey tells a conversation's kind and peer. */
export function parseKey(key: ConvKey): { kind: "direct"; account: string } | { kind: "group"; id: number } {
  return key.startsWith("g:") ? { kind: "group", id: Number(key.slice(2)) } : { kind: "direct", account: key.slice(2) };
}

/** keyOf names the conversation of a message, seen from account me. */
export function keyOf(m: MessageFrame, me: string): ConvKey {
  if (m.groupId !== undefined) return groupKey(m.groupId);
  return directKey(m.fromUser === me ? (m.to ?? me) : m.fromUser);
}

export class Conversations {
  #messages = new Map<ConvKey, Map<number, MessageFrame>>();
  #unread = new Map<ConvKey, number>();

  /** add keeps a message; false when its id was already there (then the stored one is updated). */
  add(key: ConvKey, m: MessageFrame): boolean {
    let byId = this.#messages.get(key);
    if (byId === undefined) {
      byId = new Map();
      this.#messages.set(key, byId);
    }
    const known = byId.has(m.id);
    byId.set(m.id, m);
    return !known;
  }

  /** list is a conversation's messages in seq order. */
  list(key: ConvKey): MessageFrame[] {
    return [...(this.#messages.get(key)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
  }

  /** recall marks message id as recalled, wherever it is; returns its conversation. */
  recall(id: number): ConvKey | undefined {
    for (const [key, byId] of this.#messages) {
      const m = byId.get(id);
      if (m === undefined) continue;
      const { media: _dropped, ...rest } = m;
      byId.set(id, { ...rest, message: "", recalled: true });
      return key;
    }
    return undefined;
  }

  unread(key: ConvKey): number {
    return this.#unread.get(key) ?? 0;
  }

  bumpUnread(key: ConvKey): void {
    this.#unread.set(key, this.unread(key) + 1);
  }

  markRead(key: ConvKey): void {
    this.#unread.delete(key);
  }
}

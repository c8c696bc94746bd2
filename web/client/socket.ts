// A typed helper for Tim's WebSocket channels (api/asyncapi.yaml). Each
// channel's server frames are one tagged union generated from the contract
// (UserServerFrame, DirectServerFrame, GroupServerFrame); frames are parsed
// into it by their `type`, so a `switch (frame.type)` narrows each case.
import type { components } from "../../gen/ts/api.js";

type Schemas = components["schemas"];
export type UserServerFrame = Schemas["UserServerFrame"];
export type DirectServerFrame = Schemas["DirectServerFrame"];
export type GroupServerFrame = Schemas["GroupServerFrame"];
/** Typed frames a client sends on any channel. */
export type ClientFrame =
  | Schemas["SendFrame"]
  | Schemas["AckClientFrame"]
  | Schemas["SyncFrame"]
  | Schemas["RecallClientFrame"]
  | Schemas["ReadFrame"]
  | Schemas["TypingClientFrame"];
/** The original system's direct message frame, user channel only. */
export type LegacySendFrame = Schemas["LegacySendFrame"];

/** Which socket to open. */
export type Channel =
  | { kind: "user"; account: string }
  | { kind: "direct"; account: string; friend: string }
  | { kind: "group"; account: string; groupId: number };
export type ChannelKind = Channel["kind"];

/** The tagged union of the frames the server sends on a channel kind. */
export type ServerFrameOf<K extends ChannelKind> = K extends "user"
  ? UserServerFrame
  : K extends "direct"
    ? DirectServerFrame
    : GroupServerFrame;

/** The frame of a union with a given type. */
export type FrameOfType<F extends { type: string }, T extends F["type"]> = Extract<F, { type: T }>;

/** The frame types each channel kind may carry. */
export const serverFrameTypes = {
  user: ["connected", "users", "message", "ack", "error", "presence", "recall", "receipt", "typing", "joinRequest", "joinRequestAnswered", "friendRequest", "friendAdded", "friendRemoved", "groupRemoved", "event"],
  direct: ["connected", "message", "ack", "error", "recall", "receipt", "typing"],
  group: ["connected", "group.presence", "group.online", "message", "ack", "error", "recall", "receipt", "typing", "event"],
} as const satisfies { [K in ChannelKind]: readonly ServerFrameOf<K>["type"][] };

// Compile-time check that the lists above name every member of each union:
// a frame added to the contract breaks the type check until it is listed.
type Unlisted<K extends ChannelKind> = Exclude<ServerFrameOf<K>["type"], (typeof serverFrameTypes)[K][number]>;
const everyTypeListed: { [K in ChannelKind]: [Unlisted<K>] extends [never] ? true : Unlisted<K> } = {
  user: true,
  direct: true,
  group: true,
};
void everyTypeListed;

/** A text frame that is not a server frame of the channel. */
export class FrameParseError extends Error {
  readonly raw: string;
  constructor(message: string, raw: string) {
    super(message);
    this.name = "FrameParseError";
    this.raw = raw;
  }
}

/**
 * parseServerFrame parses a text frame of a channel kind into its tagged
 * union. It checks that the frame is a JSON object whose `type` the channel
 * carries; the fields are the server's, as the contract describes them.
 */
export function parseServerFrame<K extends ChannelKind>(kind: K, raw: string): ServerFrameOf<K> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new FrameParseError("frame is not JSON", raw);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FrameParseError("frame is not a JSON object", raw);
  }
  const type = (value as { type?: unknown }).type;
  const allowed: readonly string[] = serverFrameTypes[kind];
  if (typeof type !== "string" || !allowed.includes(type)) {
    throw new FrameParseError(`frame type ${JSON.stringify(type)} is not one of the ${kind} channel's`, raw);
  }
  return value as ServerFrameOf<K>;
}

/** isFrame narrows a server frame to one type. */
export function isFrame<F extends { type: string }, T extends F["type"]>(frame: F, type: T): frame is FrameOfType<F, T> {
  return frame.type === type;
}

/** socketUrl is the ws(s):// URL of a channel, with the token as a query parameter. */
export function socketUrl(baseUrl: string, channel: Channel, token: string, ack = false): string {
  const base = new URL(baseUrl);
  base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  const e = encodeURIComponent;
  let path: string;
  switch (channel.kind) {
    case "user":
      path = `/websocket/${e(channel.account)}`;
      break;
    case "direct":
      path = `/websocket/OneToOne/${e(channel.account)}/${e(channel.friend)}`;
      break;
    case "group":
      path = `/websocket/${channel.groupId}/${e(channel.account)}`;
      break;
  }
  const url = new URL(path, base);
  url.searchParams.set("token", token);
  if (ack) url.searchParams.set("ack", "1");
  return url.toString();
}

export interface TimSocketOptions {
  /** The token from login; sent as ?token=, since browsers cannot set headers. */
  token: string;
  /** Open with ack=1: the client confirms deliveries with ack frames. */
  ack?: boolean;
  /** A WebSocket implementation; the global one by default. */
  WebSocket?: typeof globalThis.WebSocket;
}

/**
 * TimSocket is one channel's socket. Frames arrive parsed into the
 * channel's union, through onFrame or next().
 *
 * A refused handshake (401, 403, 404, 429, 503) shows in a browser only as
 * an error and a close with code 1006: probe with a REST call (see
 * asyncapi.yaml, "What a browser sees of a refusal") to learn why.
 */
export class TimSocket<K extends ChannelKind> {
  readonly kind: K;
  readonly socket: WebSocket;
  /** Resolves when the socket is open; rejects when it closes first. */
  readonly opened: Promise<void>;
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  #handlers = new Set<(frame: ServerFrameOf<K>) => void>();
  #invalid = new Set<(error: FrameParseError) => void>();
  #queue: ServerFrameOf<K>[] = [];
  #waiters: { resolve: (f: ServerFrameOf<K>) => void; reject: (e: Error) => void }[] = [];
  #closedWith: { code: number; reason: string } | undefined;

  constructor(baseUrl: string, channel: Channel & { kind: K }, options: TimSocketOptions) {
    const Impl = options.WebSocket ?? globalThis.WebSocket;
    this.kind = channel.kind;
    this.socket = new Impl(socketUrl(baseUrl, channel, options.token, options.ack));
    let opened = false;
    let finish: (code: number, reason: string) => void = () => {};
    this.opened = new Promise((resolve, reject) => {
      this.socket.addEventListener(
        "open",
        () => {
          opened = true;
          resolve();
        },
        { once: true },
      );
      this.socket.addEventListener("close", (ev) => reject(new Error(`socket closed before it opened (${ev.code})`)), {
        once: true,
      });
      this.socket.addEventListener("error", () => reject(new Error("socket failed to open")), { once: true });
    });
    this.opened.catch(() => {}); // a caller that never awaits it is not an unhandled rejection
    this.closed = new Promise((resolve) => {
      finish = (code, reason) => {
        if (this.#closedWith) return;
        this.#closedWith = { code, reason };
        for (const w of this.#waiters.splice(0)) w.reject(new Error(`socket closed (${code} ${reason})`));
        resolve(this.#closedWith);
      };
    });
    this.socket.addEventListener("close", (ev) => finish(ev.code, ev.reason));
    // A failed handshake: browsers follow the error with a close (1006);
    // some implementations do not, so the error ends the socket alike.
    this.socket.addEventListener("error", () => {
      if (!opened) finish(1006, "");
    });
    this.socket.addEventListener("message", (ev: MessageEvent) => {
      if (typeof ev.data !== "string") return;
      let frame: ServerFrameOf<K>;
      try {
        frame = parseServerFrame(this.kind, ev.data);
      } catch (err) {
        for (const h of this.#invalid) h(err as FrameParseError);
        return;
      }
      for (const h of this.#handlers) h(frame);
      const w = this.#waiters.shift();
      if (w) w.resolve(frame);
      else this.#queue.push(frame);
    });
  }

  /** Calls handler with every frame; returns a function that stops it. */
  onFrame(handler: (frame: ServerFrameOf<K>) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** Calls handler with every text frame that is not a frame of the channel. */
  onInvalid(handler: (error: FrameParseError) => void): () => void {
    this.#invalid.add(handler);
    return () => this.#invalid.delete(handler);
  }

  /** The next frame not yet taken by next(). */
  next(): Promise<ServerFrameOf<K>> {
    const f = this.#queue.shift();
    if (f !== undefined) return Promise.resolve(f);
    if (this.#closedWith) return Promise.reject(new Error(`socket closed (${this.#closedWith.code})`));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** The next frame of a type, skipping others. */
  async nextOf<T extends ServerFrameOf<K>["type"]>(type: T): Promise<FrameOfType<ServerFrameOf<K>, T>> {
    for (;;) {
      const f = await this.next();
      if (isFrame(f, type)) return f;
    }
  }

  /** Sends a typed frame (send, ack, sync, recall, read, typing). */
  send(frame: K extends "user" ? ClientFrame | LegacySendFrame : ClientFrame): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Sends a plain-text message to the socket's conversation (direct and group channels). */
  sendText(this: TimSocket<"direct" | "group">, text: string): void {
    this.socket.send(text);
  }

  close(code = 1000, reason = ""): void {
    this.socket.close(code, reason);
  }
}

// A thin, typed client for Tim's HTTP API. Every operation of the contract
// is available, fully typed, through `api` (openapi-fetch over the types
// that `make generate` writes to gen/ts/api.ts from api/openapi.yaml); the
// helpers below cover what the raw calls make awkward: the login pair, the
// token, multipart uploads of a Blob or File, and download URLs for
// <img>/<audio>/<video>.
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "../../gen/ts/api.js";

export type { components, paths };
export type Schemas = components["schemas"];
export type User = Schemas["User"];
export type Group = Schemas["Group"];
export type Envelope = Schemas["Envelope"];
export type MessageFrame = Schemas["MessageFrame"];
export type MessageKind = Schemas["MessageKind"];
export type GroupMember = Schemas["GroupMember"];
export type GroupRole = Schemas["GroupRole"];
export type EventFrame = Schemas["EventFrame"];
export type FriendRequest = Schemas["FriendRequest"];
export type FriendPolicy = Schemas["FriendPolicy"];
export type JoinRequest = Schemas["JoinRequest"];
export type JoinPolicy = Schemas["JoinPolicy"];

/** A refusal from the server: the envelope, its status and Retry-After. */
export class TimError extends Error {
  readonly status: number;
  readonly code: number;
  /** Seconds to wait before retrying (429, 503), when the server said. */
  readonly retryAfter?: number;
  /** The request's id, to quote when reporting a problem. */
  readonly requestId?: string;

  constructor(status: number, message: string, headers?: Headers) {
    super(message);
    this.name = "TimError";
    this.status = status;
    this.code = status;
    const retry = headers?.get("Retry-After");
    if (retry && /^\d+$/.test(retry)) this.retryAfter = Number(retry);
    this.requestId = headers?.get("X-Request-Id") ?? undefined;
  }
}

/** What login returns: the user and the token for later calls. */
export interface Login {
  user: User;
  token: string;
}

/** Where uploads go and downloads come from, by media kind. */
const uploads = {
  chatpic: "/uploadchatpic",
  mp3: "/uploadmp3",
  mp4: "/uploadmp4",
} as const;
const downloads = {
  chatpic: "/downloadchatpic",
  mp3: "/downloadmp3",
  mp4: "/downloadmp4",
} as const;
export type MediaKind = keyof typeof uploads;

export interface TimClientOptions {
  /** The server, e.g. "https://tim.example.com" (no trailing slash needed). */
  baseUrl: string;
  /** A token from an earlier login. */
  token?: string;
  /** A fetch implementation; the global one by default. */
  fetch?: typeof globalThis.fetch;
}

/**
 * splitLogin turns a login's `data` ([user, {token}]) into its two parts,
 * telling them apart by shape, not position alone.
 */
export function splitLogin(data: Schemas["LoginItem"][]): Login {
  let user: User | undefined;
  let token: string | undefined;
  for (const item of data) {
    if ("token" in item) token = item.token;
    else user = item;
  }
  if (data.length !== 2 || user === undefined || token === undefined) {
    throw new TimError(500, "登录响应格式不正确");
  }
  return { user, token };
}

/**
 * unwrap returns the data of a call made through `api`, or throws the
 * server's refusal as a TimError:
 * `const friends = unwrap(await client.api.GET("/Tim/getFriends", ...)).data`.
 */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) throw refusal(result.response, result.error);
  return result.data;
}

/** The error for a response that is not 2xx. */
function refusal(response: Response, error: unknown): TimError {
  const message =
    typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
      ? error.message
      : response.statusText || `HTTP ${response.status}`;
  return new TimError(response.status, message, response.headers);
}

export class TimClient {
  /** Every operation of the contract, typed by path and method. */
  readonly api: Client<paths>;
  readonly baseUrl: string;
  #token: string | undefined;

  constructor(options: TimClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#token = options.token;
    this.api = createClient<paths>({ baseUrl: this.baseUrl, fetch: options.fetch });
    const auth: Middleware = {
      onRequest: ({ request }) => {
        if (this.#token !== undefined && !request.headers.has("token")) {
          request.headers.set("token", this.#token);
        }
        return request;
      },
    };
    this.api.use(auth);
  }

  /** The token sent with every call, set by login. */
  get token(): string | undefined {
    return this.#token;
  }

  set token(token: string | undefined) {
    this.#token = token;
  }

  /** Logs in; later calls carry the token. */
  async login(account: string, password: string): Promise<Login> {
    const { data, error, response } = await this.api.POST("/Tim/UserLogin", { body: { account, password } });
    if (data === undefined) throw refusal(response, error);
    const login = splitLogin(data.data);
    this.#token = login.token;
    return login;
  }

  /** Revokes the token (with all, every token of the account). */
  async logout(all = false): Promise<void> {
    const { data, error, response } = await this.api.GET("/Tim/UserLogout", { params: { query: { all } } });
    if (data === undefined) throw refusal(response, error);
    this.#token = undefined;
  }

  /** Uploads a picture, an MP3 or an MP4 and returns its stored name. */
  async upload(kind: MediaKind, file: Blob, fileName?: string): Promise<string> {
    const { data, error, response } = await this.api.POST(uploads[kind], {
      body: { file },
      bodySerializer: () => multipart(file, fileName),
    });
    if (data === undefined) throw refusal(response, error);
    return data.data;
  }

  /** Replaces the token account's avatar with a JPEG, PNG or BMP picture. */
  async uploadAvatar(file: Blob, fileName?: string): Promise<string> {
    const { data, error, response } = await this.api.POST("/uploadheadpic", {
      body: { file },
      bodySerializer: () => multipart(file, fileName),
    });
    if (data === undefined) throw refusal(response, error);
    return data.data;
  }

  /**
   * A URL for <img src>, <audio src> or <video src>: browsers cannot add
   * the token header there, so it carries the token as a query parameter.
   */
  downloadUrl(kind: MediaKind, name: string): string {
    const q = new URLSearchParams({ filename: name });
    if (this.#token !== undefined) q.set("token", this.#token);
    return `${this.baseUrl}${downloads[kind]}?${q}`;
  }

  /** The avatar URL of a user (User.avatarUrl is relative to the server). */
  avatarUrl(user: User): string | null {
    return user.avatarUrl === null ? null : this.withToken(user.avatarUrl);
  }

  /**
   * withToken resolves a download path of the server (User.avatarUrl, a
   * media message's `media.url`) into a URL that carries the token, for
   * <img src> and the like.
   */
  withToken(path: string): string {
    const url = new URL(path, this.baseUrl + "/");
    if (this.#token !== undefined) url.searchParams.set("token", this.#token);
    return url.toString();
  }
}

/** multipart builds the form of an upload: the file in the field "file". */
function multipart(file: Blob, fileName?: string): FormData {
  const form = new FormData();
  const name = fileName ?? (typeof File !== "undefined" && file instanceof File ? file.name : "upload");
  form.append("file", file, name);
  return form;
}

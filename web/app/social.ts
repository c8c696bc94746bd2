// The list items of the social parts of the page: friend requests (to and
// from the account), blocked accounts, a group's members with the actions
// the viewer's role allows, and a group's join requests. Each button says
// whom it acts on in its aria-label, and carries what main.ts's click
// handlers need in data- attributes.
import type { FriendRequest, GroupMember, GroupRole, JoinRequest, User } from "../client/client.js";
import { h } from "./dom.js";
import { clock } from "./events.js";

/** requestItem is a friend request to the account, to accept or reject. */
export function requestItem(r: FriendRequest): HTMLLIElement {
  return h(
    "li",
    { "data-request-id": r.id, "data-from": r.from },
    h("span", { class: "who" }, r.from),
    h("button", { type: "button", "data-answer": "true", "data-id": r.id, "aria-label": `Accept friend request from ${r.from}` }, "Accept"),
    h("button", { type: "button", class: "secondary", "data-answer": "false", "data-id": r.id, "aria-label": `Reject friend request from ${r.from}` }, "Reject"),
    r.message === "" ? null : h("span", { class: "note" }, r.message),
  );
}

/** sentItem is a friend request the account sent, to withdraw. */
export function sentItem(r: FriendRequest): HTMLLIElement {
  return h(
    "li",
    { "data-request-id": r.id, "data-to": r.to },
    h("span", { class: "who" }, `to ${r.to}`),
    h("button", { type: "button", class: "secondary", "data-cancel": r.id, "aria-label": `Withdraw friend request to ${r.to}` }, "Withdraw"),
  );
}

/** blockItem is an account the account blocks, to unblock. */
export function blockItem(u: User): HTMLLIElement {
  return h(
    "li",
    { "data-account": u.account },
    h("span", { class: "who" }, u.username === u.account ? u.account : `${u.username} (${u.account})`),
    h("button", { type: "button", class: "secondary", "data-unblock": u.account, "aria-label": `Unblock ${u.account}` }, "Unblock"),
  );
}

const rank = (r: GroupRole | undefined): number => (r === "owner" ? 2 : r === "admin" ? 1 : 0);

/**
 * outranks tells whether a viewer of a role may kick or mute a member of
 * another: the owner anyone, an admin plain members, no one themself (the
 * server's rule; the page offers only what it would allow).
 */
export function outranks(viewer: GroupRole | undefined, target: GroupRole): boolean {
  return rank(viewer) >= 1 && rank(viewer) > rank(target);
}

/** The viewer of a member list: their account, their role in the group, how accounts are named. */
export interface Viewer {
  account: string;
  role: GroupRole | undefined;
  nameOf: (account: string) => string;
}

/** memberItem is a group member with their role and mute, and the actions the viewer may take on them. */
export function memberItem(m: GroupMember, viewer: Viewer, now: number): HTMLLIElement {
  const name = viewer.nameOf(m.account);
  const muted = m.mutedUntil !== null && Date.parse(m.mutedUntil) > now;
  const actions: Node[] = [];
  const button = (action: string, label: string, text: string, kind = "secondary") =>
    h("button", { type: "button", class: kind, "data-action": action, "data-account": m.account, "aria-label": label }, text);
  if (m.account !== viewer.account && outranks(viewer.role, m.role)) {
    actions.push(muted ? button("unmute", `Lift ${name}'s mute`, "Lift mute") : button("mute", `Mute ${name} for 10 minutes`, "Mute 10 min"));
    if (viewer.role === "owner") {
      actions.push(
        m.role === "admin" ? button("member", `Make ${name} a plain member`, "Make member") : button("admin", `Make ${name} an admin`, "Make admin"),
        button("transfer", `Hand the group over to ${name}`, "Make owner"),
      );
    }
    actions.push(button("kick", `Remove ${name} from the group`, "Remove", "danger"));
  }
  return h(
    "li",
    { "data-account": m.account, "data-role": m.role },
    h("span", { class: "who" }, m.account === viewer.account ? `${name} (you)` : name === m.account ? name : `${name} (${m.account})`),
    m.role === "member" ? null : h("span", { class: "tag" }, m.role),
    muted && m.mutedUntil !== null ? h("span", { class: "muted" }, `muted until ${clock(m.mutedUntil)}`) : null,
    ...actions,
  );
}

/** joinRequestItem is a request to join a group, to accept or reject. */
export function joinRequestItem(r: JoinRequest): HTMLLIElement {
  return h(
    "li",
    { "data-request-id": r.id, "data-account": r.account },
    h("span", { class: "who" }, r.account),
    h("button", { type: "button", "data-join-answer": "true", "data-id": r.id, "aria-label": `Let ${r.account} join` }, "Accept"),
    h("button", { type: "button", class: "secondary", "data-join-answer": "false", "data-id": r.id, "aria-label": `Reject ${r.account}'s request to join` }, "Reject"),
    r.message === "" ? null : h("span", { class: "note" }, r.message),
  );
}

/**
 * focusKey names the button inside a list that has the focus by its data
 * attributes, so that refocus can give the focus back to its replacement
 * when the list is drawn again: a keyboard user keeps their place.
 */
export function focusKey(within: HTMLElement): string | undefined {
  const el = document.activeElement;
  if (!(el instanceof HTMLButtonElement) || !within.contains(el)) return undefined;
  const attrs = [...el.attributes].filter((a) => a.name.startsWith("data-"));
  return attrs.length === 0 ? undefined : attrs.map((a) => `[${a.name}="${CSS.escape(a.value)}"]`).join("");
}

/** refocus focuses the button that focusKey named, unless the focus is already inside. */
export function refocus(within: HTMLElement, key: string | undefined): void {
  if (key === undefined || within.contains(document.activeElement)) return;
  within.querySelector<HTMLButtonElement>(`button${key}`)?.focus();
}

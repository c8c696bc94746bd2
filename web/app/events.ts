// A group's events (join, leave, kick, role, mute, rename, …): each has a
// seq of its own in the group's timeline. Sockets send them as `event`
// frames; history lists them as messages carrying the frame in `event`.
// The client keeps them as such messages, so that they sort with the
// messages by seq, and shows each as a line across the conversation.
import type { EventFrame, MessageFrame } from "../client/client.js";

/** asMessage is an event frame as history lists it: a message carrying the frame. */
export function asMessage(e: EventFrame): MessageFrame {
  return {
    type: "message",
    id: e.id,
    seq: e.seq,
    fromUser: e.actor,
    message: e.text,
    kind: "text",
    time: e.time,
    groupId: e.groupId,
    event: e,
  };
}

/**
 * eventLine is an event as one line of text, with accounts named by
 * nameOf; an event of a kind this client does not know shows the server's
 * own line.
 */
export function eventLine(e: EventFrame, nameOf: (account: string) => string): string {
  const actor = nameOf(e.actor);
  const target = e.target === undefined ? "someone" : nameOf(e.target);
  const fallback = e.text;
  switch (e.event) {
    case "join":
      // By itself, or let in by the actor (an invitation, an accepted request).
      return e.target === undefined || e.target === e.actor ? `${actor} joined the group` : `${actor} added ${target}`;
    case "leave":
      return `${actor} left the group`;
    case "kick":
      return `${target} was removed by ${actor}`;
    case "role":
      return e.role === "admin" ? `${actor} made ${target} an admin` : `${actor} made ${target} a member`;
    case "mute":
      return e.mutedUntil === undefined
        ? `${actor} lifted ${target}'s mute`
        : `${actor} muted ${target} until ${clock(e.mutedUntil)}`;
    case "muteGroup":
      return e.muted === true ? `${actor} muted the group: only the owner and admins may send` : `${actor} unmuted the group`;
    case "rename":
      return `${actor} renamed the group to “${e.name ?? ""}”`;
    case "announcement":
      return e.announcement ? `${actor} posted an announcement: ${e.announcement}` : `${actor} cleared the announcement`;
    case "transfer":
      return `${actor} handed the group to ${target}`;
    case "dissolve":
      return `${actor} dissolved the group`;
    default:
      return fallback;
  }
}

/** clock is a time of day, or a date and time when not today. */
export function clock(iso: string): string {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return today ? time : `${d.toLocaleDateString()} ${time}`;
}

// The realtime port of the SDK: what the chat client needs from a socket. The real one is
// SocketTransport (Socket.IO); tests use a fake. No state of the chat lives here.

import type { Emitter } from "@/lib/emitter";
import type {
  ErrorBody,
  Invitation,
  InvitationClosed,
  MemberJoined,
  MemberLeft,
  Message,
  MyRoom,
  Presence,
  ReadUpdated,
  RoomLeft,
  Typing,
} from "@/lib/types";

/** Where the link stands; "connected" once the transport is up (before the client resumes). */
export type LinkState = "connecting" | "connected" | "reconnecting" | "offline" | "closed";

/** The server's events (docs/protocol.md §4.4), plus the link's own. */
export type TransportEvents = {
  /** The link went up (the first time and after every reconnect). */
  up: undefined;
  link: LinkState;
  "message:new": Message;
  "room:joined": MyRoom;
  "room:left": RoomLeft;
  "member:joined": MemberJoined;
  "member:left": MemberLeft;
  "invitation:new": Invitation;
  "invitation:closed": InvitationClosed;
  presence: Presence;
  typing: Typing;
  "read:updated": ReadUpdated;
};

export type Ack = { ok: true; [field: string]: unknown } | { ok: false; error: ErrorBody };

export interface RealtimeTransport {
  readonly events: Emitter<TransportEvents>;
  readonly connected: boolean;
  connect(): void;
  close(): void;
  /** Emit with an acknowledgement; rejects with ApiError("disconnected" | "timeout" | the ack's code). */
  request(event: string, payload: object): Promise<Record<string, unknown>>;
  /** Emit without waiting (typing); dropped while disconnected. */
  notify(event: string, payload: object): void;
}

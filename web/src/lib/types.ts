// Wire shapes of docs/protocol.md §3.2 and §4.4.

export interface User {
  id: string;
  username: string;
}

export type Visibility = "public" | "private" | "direct";

export interface Room {
  id: string;
  name: string;
  visibility: Visibility;
  created_by: string;
  created_at: string;
  last_seq: number;
}

export interface MyRoom extends Room {
  role: "owner" | "member";
  /** My read marker (docs/protocol.md, read state); absent from older servers. */
  last_read_seq?: number;
  /** Messages after the marker from others that are not edits, reactions or deletes. */
  unread?: number;
}

/** A message's relation as the server stores it (its `relates_to`). */
export interface ServerRelation {
  type: "reply" | "edit" | "reaction" | "delete";
  message_id: string;
}

/** My read marker moved (on another device too). */
export interface ReadUpdated {
  room_id: string;
  seq: number;
}

export interface DirectoryRoom extends Room {
  member_count: number;
  /** The room's longest-standing owner; null when nobody owns it. */
  owner: User | null;
}

/** A pending invitation (docs/protocol.md §3.3): the invitee joins only by accepting. */
export interface Invitation {
  room: Omit<Room, "last_seq"> & { owner: User | null; member_count: number };
  inviter: User;
  invitee: User;
  created_at: string;
}

export interface InvitationClosed {
  room_id: string;
  reason: "accepted" | "declined" | "cancelled" | "joined";
}

export interface InviteResult {
  status: "invited" | "already_invited" | "already_member";
  invitation: Invitation | null;
  member: Member | null;
}

export interface Member {
  user: User;
  role: "owner" | "member";
  joined_at: string;
  online: boolean;
  /** Their read marker ("seen by"); absent in rooms of more than 50 members. */
  last_read_seq?: number | null;
}

export interface Message {
  id: string;
  room_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
  /** Null once deleted, and for a delete marker. */
  envelope: unknown;
  created_at: string;
  relates_to?: ServerRelation | null;
  /** Deleted: its envelope is gone for good. */
  deleted?: boolean;
}

export interface ErrorBody {
  code: string;
  message: string;
  retry_after?: number;
}

/** Which sign-in the server accepts (GET /api/config `auth`); absent means embedded. */
export type AuthConfig =
  | { mode: "embedded" }
  | { mode: "oidc"; issuer: string; client_id: string; scopes: string; audience?: string | null }
  | {
      mode: "cognito";
      region: string;
      user_pool_id: string;
      client_id: string;
      identity_pool_id?: string | null;
      endpoints?: { cognito_idp?: string | null; cognito_identity?: string | null };
    };

/** Which key service seals (GET /api/config `key_service`); absent means embedded. */
export type KeyServiceConfig =
  | { type: "embedded"; url: string; key_id: string }
  | { type: "aws-kms"; key_id: string; region: string; endpoint?: string | null };

export interface ClientConfig {
  version: string;
  kms_url: string;
  kms_key_id: string;
  kms_audience: string;
  max_envelope_bytes: number;
  auth?: AuthConfig;
  key_service?: KeyServiceConfig;
  /** Whether the key service runs in the chat server's process (see lib/trust.ts). */
  key_service_layout?: string;
  /** Where the server's operator published these docs, if anywhere. */
  docs_url?: string | null;
}

export interface MemberJoined {
  room_id: string;
  user: User;
  role: "owner" | "member";
}

export interface MemberLeft {
  room_id: string;
  user_id: string;
  reason: "left" | "removed";
}

export interface RoomLeft {
  room_id: string;
  reason: "left" | "removed";
}

export interface Presence {
  user_id: string;
  username: string;
  status: "online" | "offline";
}

export interface Typing {
  room_id: string;
  user_id: string;
  username: string;
  typing: boolean;
}

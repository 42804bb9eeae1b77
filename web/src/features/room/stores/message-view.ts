// What the timeline shows for one message (a projection of the SDK's TimelineItem or of a
// pending OutboxEntry): its body, its sender's name, and for my own messages where their
// delivery stands.

import type { MessageBody } from "@/lib/room-timeline";

/** "waiting": not sent yet because the connection is down (it goes out when it is back). */
export type Delivery = "waiting" | "sending" | "sent" | "failed";

export interface MessageView {
  /** Stable React key: sender and client message id (the same before and after the ack). */
  readonly key: string;
  /** The server's message id; null while not stored yet. */
  readonly messageId: string | null;
  readonly seq: number | null;
  readonly senderId: string;
  readonly senderName: string;
  readonly mine: boolean;
  /** Server time (ISO), or the local time of a message not yet stored. */
  readonly time: string;
  readonly body: MessageBody;
  readonly edited: boolean;
  readonly delivery: Delivery | null;
  readonly sendError: string | null;
  readonly clientMsgId: string;
  /** The message this one replies to, quoted (null: not a reply). */
  readonly replyTo: ReplyQuote | null;
  /** Reaction chips, in key order. */
  readonly reactions: readonly ReactionChip[];
  /** What I may do with it (edit: mine with text; delete: mine, or any as an owner). */
  readonly canEdit: boolean;
  readonly canDelete: boolean;
}

export interface ReplyQuote {
  readonly messageId: string;
  /** Null while the target is not loaded (an older page). */
  readonly senderName: string | null;
  readonly text: string;
}

export interface ReactionChip {
  readonly key: string;
  readonly count: number;
  /** Who reacted, by name. */
  readonly names: readonly string[];
  readonly mine: boolean;
}

const REASONS: Record<string, string> = {
  malformed: "This message could not be read.",
  bad_content: "This message could not be read.",
  unsupported_version: "This message needs a newer version of Sealchat.",
  authentication_failed: "This message could not be verified.",
  access_denied: "The key service refused this room's key.",
  invalid_ciphertext: "The key service could not unwrap this message's key.",
  kms_unavailable: "The key service is unreachable.",
  unavailable: "The server is unreachable.",
  rate_limited: "The key service is busy.",
  relation_mismatch: "The server's record of what this message answers does not match its sealed content.",
};

export function explainReason(reason: string): string {
  return REASONS[reason] ?? "This message could not be opened.";
}

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
};

export function explainReason(reason: string): string {
  return REASONS[reason] ?? "This message could not be opened.";
}

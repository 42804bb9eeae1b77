// What the timeline shows for one message: opened text, a placeholder, or why it could
// not be opened; and for my own messages, where their delivery stands.

export type MessageBody =
  | { kind: "opening" }
  | { kind: "text"; text: string }
  | { kind: "unsupported"; type: string }
  | { kind: "undecryptable"; reason: string; detail: string };

export type Delivery = "sending" | "sent" | "failed";

export interface TimelineItem {
  /** Stable React key: the client message id (the same before and after the ack). */
  key: string;
  seq: number | null;
  senderId: string;
  senderName: string;
  mine: boolean;
  /** Server time (ISO), or the local time of a message not yet stored. */
  time: string;
  body: MessageBody;
  delivery: Delivery | null;
  sendError: string | null;
  clientMsgId: string;
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

/** A reason a later attempt may overcome (the key service was down or busy). */
export function isTransient(reason: string): boolean {
  return ["kms_unavailable", "unavailable", "rate_limited", "token_expired", "unauthorized", "error"].includes(reason);
}

export function explainReason(reason: string): string {
  return REASONS[reason] ?? "This message could not be opened.";
}

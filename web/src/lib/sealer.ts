// Sealing and opening messages: the envelope format (lib/envelope.ts), the content model
// (lib/content.ts) and the client keyring.

import type { ClientKeyring } from "@/lib/client-keyring";
import { parseContent, relationMismatch, type Content, type WireContent } from "@/lib/content";
import { EnvelopeError, openEnvelope, parseEnvelope, seal, type Envelope } from "@/lib/envelope";
import { ApiError } from "@/lib/errors";
import type { Message } from "@/lib/types";

/** A message as a reader sees it: its content, or why it could not be opened. */
export type Opened = { ok: true; content: Content } | { ok: false; reason: string; detail: string };

export class Sealer {
  constructor(
    readonly keyring: ClientKeyring,
    readonly senderId: string,
  ) {}

  /** Seal any content (text, reply, edit, reaction) for a room under the room's sending key. */
  async seal(roomId: string, content: WireContent, clientMsgId: string): Promise<Envelope> {
    const key = await this.keyring.keyForSending(roomId);
    return seal({
      dataKey: key.key,
      keyId: key.keyId,
      encryptedDataKey: key.encryptedDataKey,
      roomId,
      senderId: this.senderId,
      clientMsgId,
      content,
    });
  }

  /** Open a delivered message against the metadata the server delivered with it. */
  async open(message: Message): Promise<Opened> {
    try {
      const parsed = parseEnvelope(message.envelope);
      const dataKey = await this.keyring.unwrap(message.room_id, parsed.edk, parsed.encryptedDataKey);
      const wire = await openEnvelope(parsed, dataKey, {
        roomId: message.room_id,
        senderId: message.sender_id,
        clientMsgId: message.client_msg_id,
      });
      const content = parseContent(wire);
      const mismatch = relationMismatch(content, message.relates_to);
      if (mismatch) return { ok: false, reason: "relation_mismatch", detail: mismatch };
      return { ok: true, content };
    } catch (error) {
      if (error instanceof EnvelopeError) return { ok: false, reason: error.reason, detail: error.message };
      // The key service refused or failed: access_denied, kms_unavailable, ...
      if (error instanceof ApiError) return { ok: false, reason: error.code, detail: error.message };
      return { ok: false, reason: "error", detail: error instanceof Error ? error.message : String(error) };
    }
  }
}

export function newClientMsgId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

// Fakes of the SDK's ports for unit tests: a chat server behind a fake realtime transport
// and REST api, and a "sealer" whose envelopes are readable JSON. No network, no WebCrypto.

import type { ApiClient } from "@/lib/api-client";
import { ChatClient } from "@/lib/chat-client";
import type { WireContent } from "@/lib/content";
import { Emitter } from "@/lib/emitter";
import type { Envelope } from "@/lib/envelope";
import { ApiError } from "@/lib/errors";
import { Outbox, type OutboxStorage, MemoryOutboxStorage, relationOf } from "@/lib/outbox";
import type { RealtimeTransport, TransportEvents } from "@/lib/realtime-transport";
import { Room } from "@/lib/room";
import type { Opened } from "@/lib/sealer";
import { parseContent, relationMismatch } from "@/lib/content";
import type { Message, MyRoom, ServerRelation, User } from "@/lib/types";
import { encodeBase64 } from "@/lib/base64";
import type { GeneratedDataKey, KeyService } from "@/lib/key-service";

export const ME: User = { id: "u-me", username: "me" };
export const OTHER: User = { id: "u-other", username: "other" };

/** A chat server in memory: rooms, their messages by seq, idempotent sends. */
export class FakeServer {
  readonly rooms = new Map<string, { room: MyRoom; messages: Message[] }>();
  /** Sends that reached the server, in order (client_msg_id and envelope). */
  readonly sends: Array<{ room_id: string; client_msg_id: string; envelope: unknown; attachments?: string[] }> = [];

  addRoom(id: string): MyRoom {
    const room: MyRoom = { id, name: id, visibility: "private", created_by: ME.id, created_at: "", last_seq: 0, role: "owner" };
    this.rooms.set(id, { room, messages: [] });
    return room;
  }

  /** Store a message (someone else's by default), as the server would. */
  post(roomId: string, content: WireContent | string, sender: User = OTHER, clientMsgId?: string): Message {
    const entry = this.rooms.get(roomId)!;
    const wire = typeof content === "string" ? { type: "text", text: content } : content;
    const seq = entry.messages.length + 1;
    const message: Message = {
      id: `${roomId}-m${seq}`,
      room_id: roomId,
      seq,
      sender_id: sender.id,
      client_msg_id: clientMsgId ?? `c-${roomId}-${seq}`,
      envelope: fakeEnvelope(wire, `${roomId}/${seq}`),
      created_at: new Date(seq * 1000).toISOString(),
      relates_to: relationOf(wire),
    };
    entry.messages.push(message);
    entry.room.last_seq = seq;
    return message;
  }

  roomList(): MyRoom[] {
    return [...this.rooms.values()].map(({ room }) => ({ ...room }));
  }

  /** The `sync` ack: everything after the cursors, at most `limit` per room. */
  sync(cursors: Record<string, number>, limit = 100) {
    const messages: Message[] = [];
    const hasMore: string[] = [];
    for (const [roomId, after] of Object.entries(cursors)) {
      const entry = this.rooms.get(roomId);
      if (!entry) continue;
      const newer = entry.messages.filter((message) => message.seq > after);
      messages.push(...newer.slice(0, limit));
      if (newer.length > limit) hasMore.push(roomId);
    }
    return { ok: true, messages, has_more: hasMore, errors: {} };
  }

  /** Delete a message as the server does: its envelope and its relations' go; a marker follows. */
  deleteMessage(roomId: string, messageId: string, by: User = ME): Message {
    const entry = this.rooms.get(roomId)!;
    for (const message of entry.messages) {
      const erased = message.id === messageId || (message.relates_to?.message_id === messageId && message.relates_to.type !== "reply");
      if (erased) Object.assign(message, { envelope: null, deleted: true });
    }
    const seq = entry.messages.length + 1;
    const marker: Message = {
      id: `${roomId}-m${seq}`,
      room_id: roomId,
      seq,
      sender_id: by.id,
      client_msg_id: `c-delete-${seq}`,
      envelope: null,
      created_at: new Date(seq * 1000).toISOString(),
      relates_to: { type: "delete", message_id: messageId },
    };
    entry.messages.push(marker);
    entry.room.last_seq = seq;
    return marker;
  }

  send(payload: { room_id: string; client_msg_id: string; envelope: unknown; relates_to?: ServerRelation }): Message {
    this.sends.push(structuredClone(payload));
    const entry = this.rooms.get(payload.room_id)!;
    const existing = entry.messages.find((message) => message.sender_id === ME.id && message.client_msg_id === payload.client_msg_id);
    if (existing) return existing; // idempotent: the original, not a copy
    const seq = entry.messages.length + 1;
    const message: Message = {
      id: `${payload.room_id}-m${seq}`,
      room_id: payload.room_id,
      seq,
      sender_id: ME.id,
      client_msg_id: payload.client_msg_id,
      envelope: payload.envelope,
      created_at: new Date(seq * 1000).toISOString(),
      relates_to: payload.relates_to ?? null,
    };
    entry.messages.push(message);
    entry.room.last_seq = seq;
    return message;
  }
}

export class FakeTransport implements RealtimeTransport {
  readonly events = new Emitter<TransportEvents>();
  connected = false;
  /** Set to make the next message:send lose its connection before the ack. */
  dropNextSend = false;
  /** Set to make the next message:send answer with this error (the link stays up). */
  failNextSend: ApiError | null = null;
  syncLimit = 100;

  constructor(readonly server: FakeServer) {}

  connect(): void {
    this.up();
  }

  close(): void {
    this.connected = false;
  }

  up(): void {
    this.connected = true;
    this.events.emit("link", "connected");
    this.events.emit("up", undefined);
  }

  down(): void {
    this.connected = false;
    this.events.emit("link", "reconnecting");
  }

  /** Deliver a live event as the server would push it. */
  push<K extends keyof TransportEvents>(event: K, payload: TransportEvents[K]): void {
    if (this.connected) this.events.emit(event, payload);
  }

  async request(event: string, payload: object): Promise<Record<string, unknown>> {
    await Promise.resolve();
    if (!this.connected) throw new ApiError("disconnected", "not connected");
    if (event === "sync") return this.server.sync((payload as { cursors: Record<string, number> }).cursors, this.syncLimit);
    if (event === "message:send") {
      const send = payload as { room_id: string; client_msg_id: string; envelope: unknown };
      if (this.failNextSend) {
        const error = this.failNextSend;
        this.failNextSend = null;
        throw error;
      }
      if (this.dropNextSend) {
        this.dropNextSend = false;
        this.server.sends.push(structuredClone(send)); // it reached the wire, then the link died
        this.down();
        throw new ApiError("disconnected", "no answer to message:send");
      }
      return { ok: true, message: this.server.send(send) };
    }
    if (event === "message:delete") {
      const { room_id, message_id } = payload as { room_id: string; message_id: string };
      return { ok: true, message: this.server.deleteMessage(room_id, message_id) };
    }
    throw new Error(`unexpected request ${event}`);
  }

  notify(): void {}
}

export function fakeApi(server: FakeServer): ApiClient {
  return {
    get: async (path: string, query: Record<string, number | undefined> = {}) => {
      if (path === "/api/rooms") return { rooms: server.roomList() };
      const match = /^\/api\/rooms\/([^/]+)\/(messages|members)$/.exec(path);
      const entry = match ? server.rooms.get(decodeURIComponent(match[1]!)) : undefined;
      if (!match || !entry) throw new ApiError("not_found", path, 404);
      if (match[2] === "members") return { members: [] };
      const before = query.before_seq ?? Infinity;
      const limit = query.limit ?? 50;
      const older = entry.messages.filter((message) => message.seq < before);
      return { messages: older.slice(-limit), has_more: older.length > limit };
    },
  } as unknown as ApiClient;
}

let ivs = 0;

/** A readable "envelope": the content in `ct`, a fresh `iv` per seal. */
export function fakeEnvelope(content: WireContent, iv = `iv${++ivs}`): Envelope {
  return { v: 1, alg: "A256GCM", kid: "k", edk: "edk", iv, ct: JSON.stringify(content) };
}

export const fakeSealer = {
  opened: 0,
  async seal(_roomId: string, content: WireContent): Promise<Envelope> {
    return fakeEnvelope(content);
  },
  async open(message: Message): Promise<Opened> {
    fakeSealer.opened += 1;
    const envelope = message.envelope as Envelope;
    if (envelope.ct === "tampered") return { ok: false, reason: "authentication_failed", detail: "tampered" };
    const content = parseContent(JSON.parse(envelope.ct));
    const mismatch = relationMismatch(content, message.relates_to);
    if (mismatch) return { ok: false, reason: "relation_mismatch", detail: mismatch };
    return { ok: true, content };
  },
};

let ids = 0;

/** The SDK over the fakes: the sync core, an outbox and a Room model per room. */
export function fakeSdk(server = new FakeServer(), storage: OutboxStorage = new MemoryOutboxStorage()) {
  const transport = new FakeTransport(server);
  const api = fakeApi(server);
  const client = new ChatClient(api, transport);
  const outbox = new Outbox(storage, {
    seal: (roomId, content) => fakeSealer.seal(roomId, content),
    send: (roomId, clientMsgId, envelope, relatesTo, attachments) =>
      client.send(roomId, clientMsgId, envelope, relatesTo, attachments),
    canSend: () => transport.connected,
    maxEnvelopeBytes: 65536,
    newClientMsgId: () => `c-mine-${++ids}`,
  });
  client.events.on("resumed", () => outbox.resume());
  const room = (roomId: string) => new Room(roomId, { api, client, sealer: fakeSealer, outbox, me: ME });
  return { server, transport, api, client, outbox, room };
}

/** Let promises, microtasks and zero timers run. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

/** A key service that makes random data keys and unwraps them only for their room. */
export class FakeKeyService implements KeyService {
  generated = 0;
  decrypted = 0;
  private readonly keys = new Map<string, Uint8Array>();

  async generateDataKey(keyId: string, roomId: string): Promise<GeneratedDataKey> {
    this.generated += 1;
    const plaintext = crypto.getRandomValues(new Uint8Array(32));
    const blob = new TextEncoder().encode(`${roomId}/${this.generated}`);
    this.keys.set(encodeBase64(blob), plaintext.slice());
    return { keyId, plaintext, ciphertextBlob: blob };
  }

  async decrypt(blob: Uint8Array, roomId: string): Promise<Uint8Array> {
    this.decrypted += 1;
    const key = this.keys.get(encodeBase64(blob));
    if (!key || !new TextDecoder().decode(blob).startsWith(`${roomId}/`)) throw new Error("access_denied");
    return key.slice();
  }
}

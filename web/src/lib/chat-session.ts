// The SDK's entry point, built once after sign-in (the role of matrix-js-sdk's MatrixClient):
// the REST api and the realtime transport feed the sync core (ChatClient); the key service
// (injected: embedded today, AWS KMS next), the keyring and its lifecycle policy; the outbox;
// my rooms with unread counts and read markers (RoomList); and one Room model per room
// opened. Disposed on sign-out.

import type { ApiClient } from "@/lib/api-client";
import { ChatClient } from "@/lib/chat-client";
import { ClientKeyring } from "@/lib/client-keyring";
import type { KeyService } from "@/lib/key-service";
import { applyKeyLifecycle } from "@/lib/key-lifecycle";
import { IndexedDbOutboxStorage, MemoryOutboxStorage, Outbox, type OutboxStorage } from "@/lib/outbox";
import type { RealtimeTransport } from "@/lib/realtime-transport";
import { ReadMarkers } from "@/lib/read-markers";
import { Room } from "@/lib/room";
import { RoomList } from "@/lib/room-list";
import { roomsApi } from "@/lib/rooms-api";
import { roomApi } from "@/lib/room-api";
import { sealedSource, type SearchSource } from "@/lib/search";
import { RoomGrants } from "@/lib/room-grants";
import { newClientMsgId, Sealer } from "@/lib/sealer";
import { SocketTransport } from "@/lib/socket-transport";
import type { ClientConfig, User } from "@/lib/types";

/** What a key-service client is built from; the factory picks the implementation. */
export interface KeyServiceContext {
  config: ClientConfig;
  /** The key service's URL as seen from this page (keyServiceUrl). */
  url: string;
  api: ApiClient;
  grants: RoomGrants;
}

export type KeyServiceFactory = (context: KeyServiceContext) => KeyService;

export interface SessionOptions {
  /** Required: the SDK names no key service of its own (app/sdk-config.ts chooses). */
  keyService: KeyServiceFactory;
  transport?: RealtimeTransport;
  outboxStorage?: OutboxStorage;
}

export class ChatSession {
  readonly client: ChatClient;
  readonly outbox: Outbox;
  readonly readMarkers: ReadMarkers;
  readonly roomList: RoomList;
  private readonly rooms = new Map<string, Room>();
  private readonly cleanups: Array<() => void> = [];

  private constructor(
    readonly api: ApiClient,
    readonly me: User,
    readonly config: ClientConfig,
    readonly grants: RoomGrants,
    readonly sealer: Sealer,
    transport: RealtimeTransport,
    outboxStorage: OutboxStorage,
  ) {
    this.client = new ChatClient(api, transport);
    this.readMarkers = new ReadMarkers(me.id);
    this.roomList = new RoomList(api, this.client, this.readMarkers, me);
    this.outbox = new Outbox(outboxStorage, {
      seal: (roomId, content, clientMsgId) => sealer.seal(roomId, content, clientMsgId),
      send: (roomId, clientMsgId, envelope, relatesTo, attachments) =>
        this.client.send(roomId, clientMsgId, envelope, relatesTo, attachments),
      canSend: () => transport.connected,
      maxEnvelopeBytes: config.max_envelope_bytes,
      newClientMsgId,
    });
    const events = this.client.events;
    // Keys first: after a reconnect the outbox must seal under a fresh key.
    this.cleanups.push(applyKeyLifecycle(events, sealer.keyring, grants));
    this.cleanups.push(
      events.on("resumed", () => this.outbox.resume()),
      // Mine, seen stored (through sync, say): done. After the rooms' handlers, which use
      // the entry to show what I sealed without opening it again.
      events.on("messages", (messages) => {
        const mine = messages.filter((message) => message.sender_id === me.id);
        if (mine.length) queueMicrotask(() => mine.forEach((message) => this.outbox.delivered(message)));
      }),
      events.on("room:left", ({ room_id }) => this.dropRoom(room_id)),
      events.on("room:gone", (roomId) => this.dropRoom(roomId)),
    );
  }

  static async start(api: ApiClient, options: SessionOptions): Promise<ChatSession> {
    const me = api.auth.user;
    if (!me) throw new Error("sign in first");
    if (!globalThis.crypto?.subtle) {
      throw new Error("This browser offers no WebCrypto here: open Sealchat over HTTPS (or on localhost).");
    }
    const config = await api.publicGet<ClientConfig>("/api/config");
    const grants = new RoomGrants(api);
    const keyService = options.keyService({ config, url: keyServiceUrl(config.kms_url, api.baseUrl), api, grants });
    const sealer = new Sealer(new ClientKeyring(keyService, config.key_service?.key_id ?? config.kms_key_id), me.id);
    const transport = options.transport ?? new SocketTransport(api.baseUrl, api.auth);
    const storage =
      options.outboxStorage ?? (typeof indexedDB === "undefined" ? new MemoryOutboxStorage() : IndexedDbOutboxStorage.forUser(me.id));
    const session = new ChatSession(api, me, config, grants, sealer, transport, storage);
    await session.outbox.load();
    session.client.connect();
    return session;
  }

  /** The room's model, made (and its history loaded) on first use. */
  room(roomId: string): Room {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = new Room(roomId, {
        api: this.api,
        client: this.client,
        sealer: this.sealer,
        outbox: this.outbox,
        me: this.me,
        readMarker: () => this.readMarkers.get(roomId),
        markRead: (seq) => this.roomList.markRead(roomId, seq),
      });
      this.rooms.set(roomId, room);
      void room.load();
    }
    return room;
  }

  /** What search reads: history pages over REST, opened by this session's sealer, whose
   * keyring is the rooms' own (each data key unwrapped once, searching or not). */
  searchSource(): SearchSource {
    return sealedSource(
      async (roomId, beforeSeq, limit) => (await roomApi.history(this.api, roomId, limit, beforeSeq ?? undefined)).messages,
      this.sealer,
    );
  }

  /** Leave a room; its keys, grant, cursor and model go at once (room:left follows). */
  async leaveRoom(roomId: string): Promise<void> {
    await roomsApi.leave(this.api, roomId);
    this.grants.forget(roomId);
    this.sealer.keyring.forgetRoom(roomId);
    this.client.forget(roomId);
    this.dropRoom(roomId);
  }

  /** Sign-out: also forget this account's unsent messages on this device. */
  async signOut(): Promise<void> {
    await this.outbox.clear();
    this.dispose();
  }

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const room of this.rooms.values()) room.dispose();
    this.rooms.clear();
    this.roomList.dispose();
    this.outbox.close();
    this.client.close();
  }

  private dropRoom(roomId: string): void {
    this.roomList.remove(roomId);
    this.outbox.forgetRoom(roomId);
    this.rooms.get(roomId)?.dispose();
    this.rooms.delete(roomId);
  }
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Where to reach the key service from this page. A relative kms_url ("/kms") shares the
 * page's origin. The server names itself by its configured URL (say 127.0.0.1:8000) while
 * the page may have been opened as localhost:8000: the same server, but another origin to
 * the browser (CSP, CORS), so a loopback alias on the same port is read as the page's own.
 */
export function keyServiceUrl(configured: string, pageOrigin: string): string {
  const url = new URL(configured, pageOrigin);
  const page = new URL(pageOrigin);
  const sameServer =
    LOOPBACK.has(url.hostname) && LOOPBACK.has(page.hostname) && url.port === page.port && url.protocol === page.protocol;
  if (url.origin !== page.origin && sameServer) url.host = page.host;
  return url.toString().replace(/\/+$/, "");
}

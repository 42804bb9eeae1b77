// The SDK's sync core (port of sealchat/client's realtime half, docs/protocol.md §5.5): fed
// by a RealtimeTransport and the REST api, it never misses a message. Every message (live,
// from sync, or the ack of our own send) passes through the ReorderBuffer, so "messages"
// handlers see each message of each room once, in seq order. After every (re)connect the
// client re-reads its rooms and syncs from its cursors. The buffer's cursors are the one
// record of the newest seq per room (`newestSeq`).

import type { ApiClient } from "@/lib/api-client";
import { Emitter } from "@/lib/emitter";
import { ApiError } from "@/lib/errors";
import type { RealtimeTransport } from "@/lib/realtime-transport";
import { ReorderBuffer } from "@/lib/reorder-buffer";
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
  ServerRelation,
  Typing,
} from "@/lib/types";

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "offline" | "closed";

export type ChatEvents = {
  /** Messages released in order (each once), own sends included. */
  messages: Message[];
  /** The full list of my rooms, read after each (re)connect. */
  rooms: MyRoom[];
  /** "connected" only once the rooms are read and the sync has caught up. */
  connection: ConnectionState;
  /** The client caught up after a connect; `reconnect` is false the first time. */
  resumed: { reconnect: boolean };
  "room:joined": MyRoom;
  "room:left": RoomLeft;
  "member:joined": MemberJoined;
  "member:left": MemberLeft;
  "invitation:new": Invitation;
  "invitation:closed": InvitationClosed;
  presence: Presence;
  typing: Typing;
  /** Rooms the server says we are no longer in (seen during sync or on reconnect). */
  "room:gone": string;
  /** My read marker moved (read here or on another device). */
  "read:updated": ReadUpdated;
};

interface SyncAck {
  ok: true;
  messages: Message[];
  has_more: string[];
  errors: Record<string, ErrorBody>;
}

/** The REST calls the sync core makes. */
export type RoomsApi = Pick<ApiClient, "get">;

export class ChatClient {
  readonly events = new Emitter<ChatEvents>();
  private readonly buffer = new ReorderBuffer();
  private state: ConnectionState = "connecting";
  private syncing: Promise<number> | null = null;
  private resumes = 0;
  /** My rooms as last read (on the latest connect), for views created after it. */
  rooms: MyRoom[] | null = null;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly api: RoomsApi,
    readonly transport: RealtimeTransport,
  ) {
    const on = transport.events.on.bind(transport.events);
    this.cleanups.push(
      on("up", () => void this.onConnect()),
      on("link", (link) => {
        // "connected" waits for the resume; every other state passes straight through.
        if (link !== "connected") this.setState(link);
      }),
      on("message:new", (message) => this.acceptAll([message])),
      on("room:joined", (room) => {
        this.buffer.startAt(room.id, room.last_seq);
        this.events.emit("room:joined", room);
      }),
      on("room:left", (payload) => {
        this.buffer.forget(payload.room_id);
        this.events.emit("room:left", payload);
      }),
      on("member:joined", (payload) => this.events.emit("member:joined", payload)),
      on("member:left", (payload) => this.events.emit("member:left", payload)),
      on("invitation:new", (payload) => this.events.emit("invitation:new", payload)),
      on("invitation:closed", (payload) => this.events.emit("invitation:closed", payload)),
      on("presence", (payload) => this.events.emit("presence", payload)),
      on("typing", (payload) => this.events.emit("typing", payload)),
      on("read:updated", (payload) => this.events.emit("read:updated", payload)),
    );
  }

  get connection(): ConnectionState {
    return this.state;
  }

  get connected(): boolean {
    return this.state === "connected" && this.transport.connected;
  }

  /** Open the transport. Rooms and cursors are read on every connect. */
  connect(): void {
    this.transport.connect();
  }

  close(): void {
    this.setState("closed");
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.transport.close();
    this.events.clear();
  }

  /** The newest seq released in a room (its cursor), if the room is tracked. */
  newestSeq(roomId: string): number | undefined {
    return this.buffer.cursors.get(roomId);
  }

  /** Send an envelope; returns the stored message (the original, for a resend).
   * `relatesTo`: the sealed content's relation; `attachments`: the blob ids a sealed file
   * content names (protocol.md §3.6). */
  async send(
    roomId: string,
    clientMsgId: string,
    envelope: object,
    relatesTo: ServerRelation | null = null,
    attachments: string[] = [],
  ): Promise<Message> {
    const payload: Record<string, unknown> = { room_id: roomId, client_msg_id: clientMsgId, envelope };
    if (relatesTo) payload.relates_to = relatesTo;
    if (attachments.length > 0) payload.attachments = attachments;
    const ack = await this.transport.request("message:send", payload);
    const message = ack.message as Message;
    this.acceptAll([message]);
    return message;
  }

  /** Delete a message (mine, or any as the room's owner): its envelope is erased for good. */
  async deleteMessage(roomId: string, messageId: string): Promise<void> {
    const ack = await this.transport.request("message:delete", { room_id: roomId, message_id: messageId });
    // The delete marker, when the ack carries it; otherwise it comes as message:new.
    if (ack.message && typeof ack.message === "object") this.acceptAll([ack.message as Message]);
  }

  typing(roomId: string, typing: boolean): void {
    this.transport.notify("typing", { room_id: roomId, typing });
  }

  /** Start tracking a room (created, joined, opened) from its last_seq. */
  track(room: MyRoom): void {
    this.buffer.startAt(room.id, room.last_seq);
  }

  forget(roomId: string): void {
    this.buffer.forget(roomId);
  }

  /** Fetch everything after the cursors; resolves to the number of new messages. */
  sync(): Promise<number> {
    if (!this.syncing) {
      this.syncing = this.syncLoop().finally(() => {
        this.syncing = null;
      });
    }
    return this.syncing;
  }

  private async syncLoop(): Promise<number> {
    let released = 0;
    for (;;) {
      const ack = await this.syncOnce();
      const before = released;
      released += this.acceptAll(ack.messages);
      for (const [roomId, error] of Object.entries(ack.errors ?? {})) {
        // Gone for good (removed, deleted); a passing failure keeps the cursor.
        if (error.code === "not_found" || error.code === "forbidden") {
          this.buffer.forget(roomId);
          this.events.emit("room:gone", roomId);
        }
      }
      // Go on while pages remain, or while a gap that opened meanwhile is filling.
      if (ack.has_more.length === 0 && !(this.buffer.hasGap() && released > before)) return released;
    }
  }

  /** One `sync` call; a `rate_limited` refusal is waited out (a few times) and tried again. */
  private async syncOnce(): Promise<SyncAck> {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.transport.request("sync", { cursors: this.buffer.cursorObject() })) as unknown as SyncAck;
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== "rate_limited" || attempt >= 5) throw error;
        const waitMs = Math.min((error.retryAfter ?? 1) * 1000, 30_000);
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  private acceptAll(messages: Message[]): number {
    const ready = messages.flatMap((message) => this.buffer.accept(message));
    if (ready.length) this.events.emit("messages", ready);
    if (this.buffer.hasGap() && !this.syncing && this.transport.connected) {
      this.sync().catch(() => undefined);
    }
    return ready.length;
  }

  private async onConnect(): Promise<void> {
    try {
      const { rooms } = await this.api.get<{ rooms: MyRoom[] }>("/api/rooms");
      const current = new Set(rooms.map((room) => room.id));
      for (const room of rooms) this.buffer.startAt(room.id, room.last_seq);
      // Rooms we were removed from while away.
      for (const roomId of [...this.buffer.cursors.keys()]) {
        if (current.has(roomId)) continue;
        this.buffer.forget(roomId);
        this.events.emit("room:gone", roomId);
      }
      this.rooms = rooms;
      this.events.emit("rooms", rooms);
      await this.sync();
    } catch (error) {
      console.warn("resume after connect failed", error);
    }
    if (this.state === "closed") return;
    const reconnect = this.resumes > 0;
    this.resumes += 1;
    this.events.emit("resumed", { reconnect });
    if (this.transport.connected) this.setState("connected");
  }

  private setState(state: ConnectionState): void {
    if (this.state === state || this.state === "closed") return;
    this.state = state;
    this.events.emit("connection", state);
  }
}

// The realtime half of the client (port of sealchat/client/client.py): a Socket.IO
// connection that never misses a message. Every message (live, from sync, or the ack of
// our own send) passes through a ReorderBuffer, so "message" handlers see each message of
// each room once, in seq order. After every (re)connect the client re-reads its rooms and
// syncs from its cursors (docs/protocol.md §5.5).

import { io, type Socket } from "socket.io-client";

import { env } from "@/config/env";
import type { ApiClient } from "@/lib/api-client";
import { Emitter } from "@/lib/emitter";
import { ApiError } from "@/lib/errors";
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
  RoomLeft,
  Typing,
} from "@/lib/types";

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "offline" | "closed";

export type ChatEvents = {
  /** Messages released in order (each once), own sends included. */
  messages: Message[];
  /** The full list of my rooms, read after each (re)connect. */
  rooms: MyRoom[];
  connection: ConnectionState;
  "room:joined": MyRoom;
  "room:left": RoomLeft;
  "member:joined": MemberJoined;
  "member:left": MemberLeft;
  "invitation:new": Invitation;
  "invitation:closed": InvitationClosed;
  presence: Presence;
  typing: Typing;
  /** Rooms the server says we are no longer in (seen during sync). */
  "room:gone": string;
};

type Ack = { ok: true; [field: string]: unknown } | { ok: false; error: ErrorBody };

interface SyncAck {
  ok: true;
  messages: Message[];
  has_more: string[];
  errors: Record<string, ErrorBody>;
}

export class ChatClient {
  readonly events = new Emitter<ChatEvents>();
  readonly buffer = new ReorderBuffer();
  private socket: Socket | null = null;
  private state: ConnectionState = "connecting";
  private syncing: Promise<number> | null = null;
  private everConnected = false;
  /** My rooms as last read (on the latest connect), for views created after it. */
  rooms: MyRoom[] | null = null;
  private readonly cleanups: Array<() => void> = [];

  constructor(private readonly api: ApiClient) {}

  get connection(): ConnectionState {
    return this.state;
  }

  /** Open the socket. Rooms and cursors are read on every connect. */
  connect(): void {
    if (this.socket) return;
    const socket = io(this.api.baseUrl, {
      path: "/socket.io/",
      transports: ["websocket"],
      reconnectionDelay: 300,
      reconnectionDelayMax: 3_000,
      // Re-evaluated on every reconnect: a session lasts as long as its token.
      auth: (cb) => {
        this.api.freshAccessToken(0.5).then(
          (token) => cb({ token }),
          () => cb({ token: "" }),
        );
      },
    });
    this.socket = socket;
    socket.on("connect", () => void this.onConnect());
    socket.on("disconnect", (reason) => this.onDisconnect(reason));
    socket.on("connect_error", (error) => void this.onConnectError(error as Error & { data?: ErrorBody }));
    socket.on("message:new", (message: Message) => this.accept(message));
    socket.on("room:joined", (room: MyRoom) => {
      this.buffer.startAt(room.id, room.last_seq);
      this.events.emit("room:joined", room);
    });
    socket.on("room:left", (payload: RoomLeft) => {
      this.buffer.forget(payload.room_id);
      this.events.emit("room:left", payload);
    });
    socket.on("member:joined", (payload: MemberJoined) => this.events.emit("member:joined", payload));
    socket.on("member:left", (payload: MemberLeft) => this.events.emit("member:left", payload));
    socket.on("invitation:new", (payload: Invitation) => this.events.emit("invitation:new", payload));
    socket.on("invitation:closed", (payload: InvitationClosed) => this.events.emit("invitation:closed", payload));
    socket.on("presence", (payload: Presence) => this.events.emit("presence", payload));
    socket.on("typing", (payload: Typing) => this.events.emit("typing", payload));
    // The server disconnects right after session:expired; onDisconnect reconnects, and the
    // auth callback above refreshes the expired token first.
    // Renew the socket's session with every silently refreshed token.
    this.cleanups.push(
      this.api.onTokens(() => {
        if (!socket.connected) return;
        this.api
          .freshAccessToken()
          .then((token) => socket.timeout(env.ackTimeoutMs).emitWithAck("session:renew", { token }))
          .catch(() => undefined);
      }),
    );
    // The browser knows before the heartbeat does that the network is gone.
    const offline = () => {
      if (socket.connected) socket.disconnect();
      this.setState("offline");
    };
    const online = () => {
      if (!socket.connected && this.state !== "closed") {
        this.setState("reconnecting");
        socket.connect();
      }
    };
    window.addEventListener("offline", offline);
    window.addEventListener("online", online);
    this.cleanups.push(() => window.removeEventListener("offline", offline));
    this.cleanups.push(() => window.removeEventListener("online", online));
  }

  close(): void {
    this.setState("closed");
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
    this.events.clear();
  }

  /** Send an envelope; returns the stored message (the original, for a resend). */
  async send(roomId: string, clientMsgId: string, envelope: object): Promise<Message> {
    const ack = await this.emit("message:send", { room_id: roomId, client_msg_id: clientMsgId, envelope });
    const message = ack.message as Message;
    this.accept(message);
    return message;
  }

  typing(roomId: string, typing: boolean): void {
    if (this.socket?.connected) this.socket.emit("typing", { room_id: roomId, typing });
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
        return (await this.emit("sync", { cursors: this.buffer.cursorObject() })) as unknown as SyncAck;
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== "rate_limited" || attempt >= 5) throw error;
        const waitMs = Math.min((error.retryAfter ?? 1) * 1000, 30_000);
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  private async emit(event: string, payload: object): Promise<Ack & { ok: true }> {
    const socket = this.socket;
    if (!socket?.connected) throw new ApiError("disconnected", "not connected");
    let ack: Ack;
    try {
      ack = (await socket.timeout(env.ackTimeoutMs).emitWithAck(event, payload)) as Ack;
    } catch {
      // Timed out, or the connection dropped before the ack (resending is safe).
      throw new ApiError(socket.connected ? "timeout" : "disconnected", `no answer to ${event}`);
    }
    if (!ack || !ack.ok) {
      const error = ack && !ack.ok ? ack.error : { code: "error", message: "unexpected ack" };
      throw new ApiError(error.code, error.message, null, error.retry_after ?? null);
    }
    return ack;
  }

  private accept(message: Message): void {
    this.acceptAll([message]);
  }

  private acceptAll(messages: Message[]): number {
    const ready = messages.flatMap((message) => this.buffer.accept(message));
    if (ready.length) this.events.emit("messages", ready);
    if (this.buffer.hasGap() && !this.syncing && this.socket?.connected) {
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
    this.everConnected = true;
    this.setState("connected");
  }

  private onDisconnect(reason: Socket.DisconnectReason): void {
    if (this.state === "closed") return;
    if (this.state === "offline") return;
    this.setState(this.everConnected ? "reconnecting" : "connecting");
    if (reason === "io server disconnect") {
      // Ended by the server (session:expired): socket.io does not reconnect from that itself.
      setTimeout(() => {
        if (this.state !== "closed" && this.state !== "offline" && this.api.user) this.socket?.connect();
      }, 1_000);
    }
  }

  private async onConnectError(error: Error & { data?: ErrorBody }): Promise<void> {
    if (this.state !== "offline") this.setState(this.everConnected ? "reconnecting" : "connecting");
    const code = error.data?.code;
    if (code !== "token_expired" && code !== "unauthorized") return; // transport trouble: socket.io retries
    // A refused handshake is not retried by socket.io: refresh, then connect again.
    try {
      await this.api.refresh();
    } catch {
      return; // signed out
    }
    setTimeout(() => this.socket?.connect(), 500);
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.events.emit("connection", state);
  }
}

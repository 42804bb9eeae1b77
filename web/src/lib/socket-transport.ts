// The realtime transport over Socket.IO (docs/protocol.md §4-5): one websocket, a token
// re-read on every reconnect, the socket's session renewed with every silent refresh, and
// the browser's offline/online events acted on at once.

import { io, type Socket } from "socket.io-client";

import type { Authenticator } from "@/lib/authenticator";
import { env } from "@/config/env";
import { Emitter } from "@/lib/emitter";
import { ApiError } from "@/lib/errors";
import type { Ack, LinkState, RealtimeTransport, TransportEvents } from "@/lib/realtime-transport";
import type { ErrorBody } from "@/lib/types";

const FORWARDED = [
  "message:new",
  "room:joined",
  "room:left",
  "member:joined",
  "member:left",
  "invitation:new",
  "invitation:closed",
  "presence",
  "typing",
  "read:updated",
] as const;

export class SocketTransport implements RealtimeTransport {
  readonly events = new Emitter<TransportEvents>();
  private socket: Socket | null = null;
  private state: LinkState = "connecting";
  private everConnected = false;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly baseUrl: string,
    private readonly auth: Authenticator,
  ) {}

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  connect(): void {
    if (this.socket) return;
    const socket = io(this.baseUrl, {
      path: "/socket.io/",
      transports: ["websocket"],
      reconnectionDelay: 300,
      reconnectionDelayMax: 3_000,
      // Re-evaluated on every reconnect: a session lasts as long as its token.
      auth: (cb) => {
        this.auth.accessToken(0.5).then(
          (token) => cb({ token }),
          () => cb({ token: "" }),
        );
      },
    });
    this.socket = socket;
    socket.on("connect", () => {
      this.everConnected = true;
      this.setState("connected");
      this.events.emit("up", undefined);
    });
    socket.on("disconnect", (reason) => this.onDisconnect(reason));
    socket.on("connect_error", (error) => void this.onConnectError(error as Error & { data?: ErrorBody }));
    for (const name of FORWARDED) {
      socket.on(name, (payload: unknown) => this.events.emit(name, payload as never));
    }
    // The server disconnects right after session:expired; onDisconnect reconnects, and the
    // auth callback above refreshes the expired token first.
    // Renew the socket's session with every silently refreshed token.
    this.cleanups.push(
      this.auth.onTokens(() => {
        if (!socket.connected) return;
        this.auth
          .accessToken()
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

  async request(event: string, payload: object): Promise<Record<string, unknown>> {
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

  notify(event: string, payload: object): void {
    if (this.socket?.connected) this.socket.emit(event, payload);
  }

  private onDisconnect(reason: Socket.DisconnectReason): void {
    if (this.state === "closed" || this.state === "offline") return;
    this.setState(this.everConnected ? "reconnecting" : "connecting");
    if (reason === "io server disconnect") {
      // Ended by the server (session:expired): socket.io does not reconnect from that itself.
      setTimeout(() => {
        if (this.state !== "closed" && this.state !== "offline" && this.auth.user) this.socket?.connect();
      }, 1_000);
    }
  }

  private async onConnectError(error: Error & { data?: ErrorBody }): Promise<void> {
    if (this.state !== "offline") this.setState(this.everConnected ? "reconnecting" : "connecting");
    const code = error.data?.code;
    if (code !== "token_expired" && code !== "unauthorized") return; // transport trouble: socket.io retries
    // A refused handshake is not retried by socket.io: refresh, then connect again.
    try {
      await this.auth.refresh();
    } catch {
      return; // signed out
    }
    setTimeout(() => this.socket?.connect(), 500);
  }

  private setState(state: LinkState): void {
    if (this.state === state) return;
    this.state = state;
    this.events.emit("link", state);
  }
}

// View model of one open room (Element-style): its timeline (history pages, live
// messages, my sends with their delivery state), members with presence, and who types.
// Messages are keyed by seq, so history, sync and live delivery can overlap freely.

import { env } from "@/config/env";
import { roomApi } from "@/features/room/api/room-api";
import { isTransient, type MessageBody, type TimelineItem } from "@/features/room/stores/timeline-item";
import type { ChatSession } from "@/lib/chat-session";
import type { Envelope } from "@/lib/envelope";
import { errorMessage } from "@/lib/errors";
import { newClientMsgId } from "@/lib/sealer";
import { Store } from "@/lib/store";
import type { Member, Message } from "@/lib/types";

export interface RoomState {
  status: "loading" | "ready" | "error";
  error: string | null;
  items: TimelineItem[];
  hasOlder: boolean;
  loadingOlder: boolean;
  members: Member[];
  typing: string[];
}

interface Stored {
  message: Message;
  body: MessageBody;
}

interface PendingSend {
  clientMsgId: string;
  text: string;
  envelope: Envelope | null;
  state: "sending" | "failed";
  error: string | null;
  time: string;
}

export class RoomViewStore {
  readonly store = new Store<RoomState>({
    status: "loading",
    error: null,
    items: [],
    hasOlder: false,
    loadingOlder: false,
    members: [],
    typing: [],
  });
  private readonly bySeq = new Map<number, Stored>();
  private readonly pending = new Map<string, PendingSend>();
  private readonly names = new Map<string, string>();
  private readonly typers = new Map<string, { username: string; timer: ReturnType<typeof setTimeout> }>();
  private readonly cleanups: Array<() => void> = [];
  private lastTypingSent: number | null = null;
  private newestSeq = 0;
  private sendQueue: Promise<void> = Promise.resolve();
  private typingIdle: ReturnType<typeof setTimeout> | undefined;
  private flushQueued = false;
  private disposed = false;

  constructor(
    readonly roomId: string,
    private readonly session: ChatSession,
  ) {
    this.names.set(session.me.id, session.me.username);
    const events = session.client.events;
    this.cleanups.push(
      events.on("messages", (messages) => {
        for (const message of messages) if (message.room_id === roomId) this.place(message);
      }),
      events.on("member:joined", ({ room_id }) => {
        if (room_id === roomId) void this.loadMembers();
      }),
      events.on("member:left", ({ room_id, user_id }) => {
        if (room_id !== roomId) return;
        this.store.set((state) => ({ members: state.members.filter((member) => member.user.id !== user_id) }));
      }),
      events.on("presence", ({ user_id, username, status }) => {
        this.names.set(user_id, username);
        this.store.set((state) => ({
          members: state.members.map((member) => (member.user.id === user_id ? { ...member, online: status === "online" } : member)),
        }));
      }),
      events.on("typing", ({ room_id, user_id, username, typing }) => {
        if (room_id === roomId && user_id !== session.me.id) this.setTyper(user_id, username, typing);
      }),
      // Presence changes while we were away were not announced to us: read them again.
      events.on("connection", (state) => {
        if (state === "connected") void this.loadMembers();
      }),
    );
    void this.load();
  }

  dispose(): void {
    this.disposed = true;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const { timer } of this.typers.values()) clearTimeout(timer);
    clearTimeout(this.typingIdle);
  }

  // -- loading -----------------------------------------------------------------------------

  async load(): Promise<void> {
    this.store.set({ status: "loading", error: null });
    try {
      const [page] = await Promise.all([roomApi.history(this.session.api, this.roomId, env.historyPageSize), this.loadMembers()]);
      for (const message of page.messages) this.place(message);
      this.store.set({ status: "ready", hasOlder: page.has_more });
      this.flush();
    } catch (error) {
      this.store.set({ status: "error", error: errorMessage(error) });
    }
  }

  /** The page before the oldest message shown (when scrolled to the top). */
  async loadOlder(): Promise<void> {
    const { hasOlder, loadingOlder, status } = this.store.get();
    if (!hasOlder || loadingOlder || status !== "ready") return;
    const oldest = Math.min(...this.bySeq.keys());
    this.store.set({ loadingOlder: true });
    try {
      const page = await roomApi.history(this.session.api, this.roomId, env.historyPageSize, oldest);
      for (const message of page.messages) this.place(message);
      this.flush();
      this.store.set({ hasOlder: page.has_more, loadingOlder: false });
    } catch (error) {
      this.store.set({ loadingOlder: false, error: errorMessage(error) });
    }
  }

  private async loadMembers(): Promise<void> {
    try {
      const members = await roomApi.members(this.session.api, this.roomId);
      for (const member of members) this.names.set(member.user.id, member.user.username);
      if (!this.disposed) this.store.set({ members });
      this.queueFlush(); // sender names may have become known
    } catch {
      // Members are a nicety; the timeline works without them.
    }
  }

  // -- sending -----------------------------------------------------------------------------

  /** Seal and send a text; the item shows "sending", then "sent" or "failed" with a retry. */
  send(text: string): void {
    const clientMsgId = newClientMsgId();
    this.pending.set(clientMsgId, { clientMsgId, text, envelope: null, state: "sending", error: null, time: new Date().toISOString() });
    this.noteTyping(false);
    this.queueFlush();
    void this.deliver(clientMsgId);
  }

  /** Resend a failed message: the same client message id and the same envelope. */
  retry(clientMsgId: string): void {
    const pending = this.pending.get(clientMsgId);
    if (!pending || pending.state !== "failed") return;
    pending.state = "sending";
    pending.error = null;
    this.queueFlush();
    void this.deliver(clientMsgId);
  }

  /**
   * One send at a time, in the order written: sealing is asynchronous and the server may
   * handle two concurrent sends in either order, so each waits for the previous ack.
   */
  private deliver(clientMsgId: string): Promise<void> {
    this.sendQueue = this.sendQueue.then(() => this.deliverNow(clientMsgId));
    return this.sendQueue;
  }

  private async deliverNow(clientMsgId: string): Promise<void> {
    const pending = this.pending.get(clientMsgId);
    if (!pending) return;
    try {
      // Sealed once: a retry after a lost ack must send what the server may have stored.
      pending.envelope ??= await this.session.sealer.sealText(this.roomId, pending.text, clientMsgId);
      const size = new TextEncoder().encode(JSON.stringify(pending.envelope)).length;
      if (size > this.session.config.max_envelope_bytes) {
        throw new Error(`This message is too long (${size} bytes sealed; the limit is ${this.session.config.max_envelope_bytes}).`);
      }
      this.place(await this.session.client.send(this.roomId, clientMsgId, pending.envelope));
    } catch (error) {
      if (!this.pending.has(clientMsgId)) return; // delivered meanwhile (seen through sync)
      pending.state = "failed";
      pending.error = errorMessage(error);
      this.queueFlush();
    }
  }

  /** While the person types: "typing" now and then, and "stopped" after a pause. */
  noteTyping(active: boolean): void {
    clearTimeout(this.typingIdle);
    const now = performance.now();
    if (active) {
      if (this.lastTypingSent === null || now - this.lastTypingSent > env.typingRefreshMs) {
        this.lastTypingSent = now;
        this.session.client.typing(this.roomId, true);
      }
      this.typingIdle = setTimeout(() => this.noteTyping(false), env.typingRefreshMs + 1_000);
    } else if (this.lastTypingSent !== null) {
      this.lastTypingSent = null;
      this.session.client.typing(this.roomId, false);
    }
  }

  // -- timeline ------------------------------------------------------------------------------

  private place(message: Message): void {
    if (this.bySeq.has(message.seq)) return;
    const mine = message.sender_id === this.session.me.id;
    const pending = mine ? this.pending.get(message.client_msg_id) : undefined;
    if (pending) this.pending.delete(message.client_msg_id);
    // A new message from someone typing: they sent what they typed.
    if (message.seq > this.newestSeq && this.typers.has(message.sender_id)) this.setTyper(message.sender_id, "", false);
    this.newestSeq = Math.max(this.newestSeq, message.seq);
    if (pending?.envelope && sameEnvelope(pending.envelope, message.envelope)) {
      this.bySeq.set(message.seq, { message, body: { kind: "text", text: pending.text } });
    } else {
      const stored: Stored = { message, body: { kind: "opening" } };
      this.bySeq.set(message.seq, stored);
      void this.open(stored);
    }
    this.queueFlush();
  }

  /** Try again to open messages whose key the key service could not give before. */
  reopen(seq: number): void {
    const stored = this.bySeq.get(seq);
    if (!stored || stored.body.kind !== "undecryptable" || !isTransient(stored.body.reason)) return;
    stored.body = { kind: "opening" };
    this.queueFlush();
    void this.open(stored);
  }

  private async open(stored: Stored): Promise<void> {
    const opened = await this.session.sealer.open(stored.message);
    if (!opened.ok) stored.body = { kind: "undecryptable", reason: opened.reason, detail: opened.detail };
    else if (opened.content.type === "text") stored.body = { kind: "text", text: opened.content.text as string };
    else stored.body = { kind: "unsupported", type: opened.content.type };
    this.queueFlush();
  }

  private setTyper(userId: string, username: string, typing: boolean): void {
    const previous = this.typers.get(userId);
    if (previous) clearTimeout(previous.timer);
    this.typers.delete(userId);
    if (typing) {
      const timer = setTimeout(() => this.setTyper(userId, username, false), env.typingExpiryMs);
      this.typers.set(userId, { username, timer });
    }
    this.store.set({ typing: [...this.typers.values()].map((typer) => typer.username).sort() });
  }

  /** Rebuild the item list once per turn of the event loop, however many changes came. */
  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.disposed) return;
    const me = this.session.me;
    const stored = [...this.bySeq.values()].sort((a, b) => a.message.seq - b.message.seq);
    const items: TimelineItem[] = stored.map(({ message, body }) => {
      const mine = message.sender_id === me.id;
      return {
        key: `${message.sender_id}/${message.client_msg_id}`,
        seq: message.seq,
        senderId: message.sender_id,
        senderName: this.names.get(message.sender_id) ?? "former member",
        mine,
        time: message.created_at,
        body,
        delivery: mine ? "sent" : null,
        sendError: null,
        clientMsgId: message.client_msg_id,
      };
    });
    for (const pending of this.pending.values()) {
      items.push({
        key: `${me.id}/${pending.clientMsgId}`,
        seq: null,
        senderId: me.id,
        senderName: me.username,
        mine: true,
        time: pending.time,
        body: { kind: "text", text: pending.text },
        delivery: pending.state,
        sendError: pending.error,
        clientMsgId: pending.clientMsgId,
      });
    }
    this.store.set({ items });
  }
}

function sameEnvelope(sent: Envelope, stored: unknown): boolean {
  const other = stored as Partial<Envelope> | null;
  return !!other && other.ct === sent.ct && other.iv === sent.iv && other.edk === sent.edk;
}

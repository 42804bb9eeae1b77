// One room as the SDK knows it (the role of matrix-js-sdk's Room): its timeline with
// relations (history pages, sync and live messages, opened in the browser), my pending
// sends (from the Outbox), its members with presence, and who is typing. No UI: views
// subscribe to `events.change` and read `snapshot()`, which changes identity only when
// something in it changed.

import { env } from "@/config/env";
import type { ApiClient } from "@/lib/api-client";
import type { ChatClient } from "@/lib/chat-client";
import { edit, parseContent, reaction, reply, text, type WireContent } from "@/lib/content";
import { Emitter } from "@/lib/emitter";
import type { Envelope } from "@/lib/envelope";
import { errorMessage } from "@/lib/errors";
import { fetchFile, prepareFile, transferTarget, type PrepareFileOptions, type Progress } from "@/lib/file-transfer";
import type { FileContent } from "@/lib/file-content";
import type { Outbox, OutboxEntry } from "@/lib/outbox";
import { roomApi } from "@/lib/room-api";
import { RoomTimeline, type TimelineItem } from "@/lib/room-timeline";
import type { Sealer } from "@/lib/sealer";
import type { Member, Message, User } from "@/lib/types";

export interface RoomSnapshot {
  readonly status: "loading" | "ready" | "error";
  readonly error: string | null;
  /** Opened messages with their relations applied, in seq order. */
  readonly items: readonly TimelineItem[];
  /** My sends not yet acknowledged, in the order written. */
  readonly pending: readonly OutboxEntry[];
  readonly hasOlder: boolean;
  readonly loadingOlder: boolean;
  readonly members: readonly Member[];
  /** Usernames of the others typing now, sorted. */
  readonly typing: readonly string[];
  /** Known usernames by user id (members, presence, me). */
  readonly names: ReadonlyMap<string, string>;
  /** The realtime connection is up: pending sends are on their way, not waiting. */
  readonly connected: boolean;
  /** My read marker when I opened the room: "new messages" start after it (null: none). */
  readonly readSeq: number | null;
}

export interface RoomDeps {
  api: ApiClient;
  client: ChatClient;
  sealer: Pick<Sealer, "open">;
  outbox: Outbox;
  me: User;
  /** My read marker for the room now (RoomList), and how to move it. */
  readMarker?: () => number | undefined;
  markRead?: (seq: number) => void;
}

/** A reason a later attempt may overcome (the key service was down or busy). */
export function isTransient(reason: string): boolean {
  return ["kms_unavailable", "unavailable", "rate_limited", "token_expired", "unauthorized", "error"].includes(reason);
}

export class Room {
  readonly events = new Emitter<{ change: undefined }>();
  private readonly timeline = new RoomTimeline();
  private readonly typers = new Map<string, { username: string; timer: ReturnType<typeof setTimeout> }>();
  private readonly cleanups: Array<() => void> = [];
  /** Messages not opened (yet), for reopen(). */
  private readonly envelopes = new Map<string, Message>();
  private state: RoomSnapshot;
  private lastTypingSent: number | null = null;
  private typingIdle: ReturnType<typeof setTimeout> | undefined;
  private changeQueued = false;
  /** The newest seq this view has read (marked read): its own read:updated echoes are old news. */
  private readUpTo = 0;
  private disposed = false;
  /** The older page on its way (loadOlder while one loads waits for it). */
  private olderLoad: Promise<void> | null = null;

  constructor(
    readonly roomId: string,
    private readonly deps: RoomDeps,
  ) {
    this.state = {
      status: "loading",
      error: null,
      items: [],
      pending: deps.outbox.pending(roomId),
      hasOlder: false,
      loadingOlder: false,
      members: [],
      typing: [],
      names: new Map([[deps.me.id, deps.me.username]]),
      connected: deps.client.connection === "connected",
      readSeq: deps.readMarker?.() ?? null,
    };
    const events = deps.client.events;
    this.cleanups.push(
      events.on("messages", (messages) => {
        for (const message of messages) {
          if (message.room_id !== roomId) continue;
          // A new message from someone typing: they sent what they typed.
          if (this.typers.has(message.sender_id)) this.setTyper(message.sender_id, "", false);
          this.place(message);
        }
      }),
      events.on("member:joined", ({ room_id }) => {
        if (room_id === roomId) void this.loadMembers();
      }),
      events.on("member:left", ({ room_id, user_id }) => {
        if (room_id === roomId) this.patch({ members: this.state.members.filter((member) => member.user.id !== user_id) });
      }),
      events.on("presence", ({ user_id, username, status }) => {
        this.patch({
          names: withName(this.state.names, user_id, username),
          members: this.state.members.map((member) => (member.user.id === user_id ? { ...member, online: status === "online" } : member)),
        });
      }),
      events.on("typing", ({ room_id, user_id, username, typing }) => {
        if (room_id === roomId && user_id !== deps.me.id) this.setTyper(user_id, username, typing);
      }),
      // Presence changes while we were away were not announced to us: read them again.
      events.on("connection", (state) => {
        this.patch({ connected: state === "connected" });
        if (state === "connected") void this.loadMembers();
      }),
      // Read to the end on another device: no "new messages" left here either.
      // (Not my own markRead coming back: the divider stays while I look at the room.)
      events.on("read:updated", ({ room_id, seq }) => {
        if (room_id !== roomId || seq <= this.readUpTo) return;
        if (seq >= (this.timeline.list().at(-1)?.seq ?? 0)) this.patch({ readSeq: seq });
      }),
      deps.outbox.events.on("change", (changed) => {
        if (changed === roomId) this.patch({ pending: deps.outbox.pending(roomId) });
      }),
    );
  }

  snapshot(): RoomSnapshot {
    return this.state;
  }

  dispose(): void {
    this.disposed = true;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const { timer } of this.typers.values()) clearTimeout(timer);
    clearTimeout(this.typingIdle);
    this.events.clear();
  }

  // -- loading -----------------------------------------------------------------------------

  async load(): Promise<void> {
    this.patch({ status: "loading", error: null });
    try {
      const [page] = await Promise.all([roomApi.history(this.deps.api, this.roomId, env.historyPageSize), this.loadMembers()]);
      for (const message of page.messages) this.place(message);
      this.patch({ status: "ready", hasOlder: page.has_more });
    } catch (error) {
      this.patch({ status: "error", error: errorMessage(error) });
    }
  }

  /** The page before the oldest message held (when scrolled to the top). */
  loadOlder(): Promise<void> {
    if (this.olderLoad) return this.olderLoad;
    const { hasOlder, status } = this.state;
    const oldest = this.timeline.oldestSeq();
    if (!hasOlder || status !== "ready" || oldest === null) return Promise.resolve();
    this.patch({ loadingOlder: true });
    this.olderLoad = (async () => {
      try {
        const page = await roomApi.history(this.deps.api, this.roomId, env.historyPageSize, oldest);
        for (const message of page.messages) this.place(message);
        this.patch({ hasOlder: page.has_more, loadingOlder: false });
      } catch (error) {
        this.patch({ loadingOlder: false, error: errorMessage(error) });
      } finally {
        this.olderLoad = null;
      }
    })();
    return this.olderLoad;
  }

  /** Load older pages until the message `seq` is held (a search hit, a reply's target);
   * true when it is. Stops at the room's beginning or on a failed page. */
  async reveal(seq: number): Promise<boolean> {
    for (;;) {
      const oldest = this.timeline.oldestSeq();
      if (oldest !== null && oldest <= seq) return true;
      if (this.state.status === "loading") await this.loaded();
      else if (oldest === null) return false;
      else if (!this.state.hasOlder || this.state.status !== "ready") return false;
      else {
        const failed = this.state.error;
        await this.loadOlder();
        if (this.state.error !== failed && this.state.error !== null) return false;
      }
      if (this.disposed) return false;
    }
  }

  /** Resolves once the first page is in (or failed). */
  private loaded(): Promise<void> {
    return new Promise((resolve) => {
      const stop = this.events.on("change", () => {
        if (this.state.status !== "loading") {
          stop();
          resolve();
        }
      });
    });
  }

  private async loadMembers(): Promise<void> {
    try {
      const members = await roomApi.members(this.deps.api, this.roomId);
      let names = this.state.names;
      for (const member of members) names = withName(names, member.user.id, member.user.username);
      this.patch({ members, names });
    } catch {
      // Members are a nicety; the timeline works without them.
    }
  }

  /** An owner removes a member (throws an ApiError: forbidden, not_found, ...). */
  async removeMember(userId: string): Promise<void> {
    await roomApi.removeMember(this.deps.api, this.roomId, userId);
    this.patch({ members: this.state.members.filter((member) => member.user.id !== userId) });
  }

  // -- sending -----------------------------------------------------------------------------

  /** Send a text (through the outbox: it survives a reload and waits out a disconnect). */
  sendText(body: string): OutboxEntry {
    this.noteTyping(false);
    return this.deps.outbox.send(this.roomId, text(body));
  }

  /** Send any content: a reply, an edit, a reaction (lib/content.ts builds them). */
  send(content: WireContent): OutboxEntry {
    return this.deps.outbox.send(this.roomId, content);
  }

  /** Seal a file, upload it (progress, cancel through `signal`) and send it as a `file`
   * message through the outbox. A cancelled upload sends nothing (rejects with an AbortError). */
  async sendFile(file: File, options: Omit<PrepareFileOptions, "baseUrl" | "token"> = {}): Promise<OutboxEntry> {
    const content = await prepareFile(this.roomId, file, { ...(await transferTarget(this.deps.api)), ...options });
    options.signal?.throwIfAborted();
    return this.send(content as unknown as WireContent);
  }

  /** Download and open a file message's file (throws `FileSealError` when it does not open). */
  async fetchFile(content: FileContent, options: { onProgress?: Progress; signal?: AbortSignal } = {}): Promise<Blob> {
    return fetchFile(content, { ...(await transferTarget(this.deps.api)), ...options });
  }

  /** Reply to a message (the reply quotes it). */
  reply(body: string, targetId: string): OutboxEntry {
    this.noteTyping(false);
    return this.send(reply(body, targetId));
  }

  /** Replace the text of one of my messages; readers see the latest edit, marked "(edited)". */
  edit(targetId: string, newText: string): OutboxEntry {
    this.noteTyping(false);
    return this.send(edit(targetId, newText));
  }

  /** React with `key` (an emoji) to a message. */
  react(targetId: string, key: string): OutboxEntry {
    return this.send(reaction(targetId, key));
  }

  /** Take back my reaction `key` to a message: my reaction messages are deleted. */
  async unreact(targetId: string, key: string): Promise<void> {
    const mine = this.timeline.item(targetId)?.reactionIds[key]?.[this.deps.me.id] ?? [];
    for (const reactionId of mine) await this.deleteMessage(reactionId);
  }

  /** Delete a message (mine, or anyone's as an owner); throws an ApiError when refused. */
  async deleteMessage(messageId: string): Promise<void> {
    await this.deps.client.deleteMessage(this.roomId, messageId);
  }

  /** The person sees the end of the room (visible, scrolled to the bottom): it is read. */
  markRead(): void {
    const newest = this.deps.client.newestSeq(this.roomId) ?? this.timeline.list().at(-1)?.seq;
    if (newest === undefined || newest <= 0) return;
    this.readUpTo = Math.max(this.readUpTo, newest);
    this.deps.markRead?.(newest);
  }

  /** The room is shown (again): "new messages" start after my read marker as it is now. */
  enter(): void {
    this.patch({ readSeq: this.deps.readMarker?.() ?? null });
  }

  /** My latest message that still has text (the Up key edits it). */
  lastEditable(): TimelineItem | null {
    const items = this.timeline.list();
    for (let index = items.length - 1; index >= 0; index--) {
      const item = items[index]!;
      if (item.senderId === this.deps.me.id && item.body.kind === "text") return item;
    }
    return null;
  }

  /** Resend a failed message: the same client message id and the same envelope. */
  retry(clientMsgId: string): void {
    this.deps.outbox.retry(clientMsgId);
  }

  /** While the person types: "typing" now and then, and "stopped" after a pause. */
  noteTyping(active: boolean): void {
    clearTimeout(this.typingIdle);
    const now = performance.now();
    if (active) {
      if (this.lastTypingSent === null || now - this.lastTypingSent > env.typingRefreshMs) {
        this.lastTypingSent = now;
        this.deps.client.typing(this.roomId, true);
      }
      this.typingIdle = setTimeout(() => this.noteTyping(false), env.typingRefreshMs + 1_000);
    } else if (this.lastTypingSent !== null) {
      this.lastTypingSent = null;
      this.deps.client.typing(this.roomId, false);
    }
  }

  // -- timeline ------------------------------------------------------------------------------

  private place(message: Message): void {
    if (this.timeline.has(message.id)) return;
    const event = {
      id: message.id,
      seq: message.seq,
      senderId: message.sender_id,
      clientMsgId: message.client_msg_id,
      time: message.created_at,
      serverRelation: message.relates_to ?? null,
      deleted: message.deleted === true,
    };
    const mine = message.sender_id === this.deps.me.id;
    if (message.deleted || message.envelope === null || message.relates_to?.type === "delete") {
      // Nothing to open: deleted (or the delete marker itself).
      if (mine) this.deps.outbox.delivered(message);
      this.changed(this.timeline.add(event, { kind: "deleted" }));
      return;
    }
    const pending = mine ? this.deps.outbox.get(message.client_msg_id) : undefined;
    if (mine) this.deps.outbox.delivered(message);
    if (pending?.envelope && sameEnvelope(pending.envelope, message.envelope)) {
      // My own message, just acknowledged: no need to open what I sealed.
      this.changed(this.timeline.add(event, { kind: "opened", content: parseContent(pending.content) }));
    } else {
      this.changed(this.timeline.add(event));
      void this.open(message);
    }
  }

  /** Try again to open a message whose key the key service could not give before. */
  reopen(messageId: string): void {
    const opening = this.timeline.opening(messageId);
    if (opening?.kind !== "undecryptable" || !isTransient(opening.reason)) return;
    const item = this.timeline.item(messageId);
    if (!item) return;
    this.changed(this.timeline.update(messageId, { kind: "opening" }));
    const message = this.envelopes.get(messageId);
    if (message) void this.open(message);
  }

  private async open(message: Message): Promise<void> {
    this.envelopes.set(message.id, message);
    const opened = await this.deps.sealer.open(message);
    if (this.disposed) return;
    if (opened.ok) {
      this.envelopes.delete(message.id);
      this.changed(this.timeline.update(message.id, { kind: "opened", content: opened.content }));
    } else {
      this.changed(this.timeline.update(message.id, { kind: "undecryptable", reason: opened.reason, detail: opened.detail }));
    }
  }

  private changed(itemId: string | null): void {
    if (itemId !== null || this.state.items !== this.timeline.list()) this.queueChange();
  }

  private setTyper(userId: string, username: string, typing: boolean): void {
    const previous = this.typers.get(userId);
    if (previous) clearTimeout(previous.timer);
    this.typers.delete(userId);
    if (typing) {
      const timer = setTimeout(() => this.setTyper(userId, username, false), env.typingExpiryMs);
      this.typers.set(userId, { username, timer });
    }
    this.patch({ typing: [...this.typers.values()].map((typer) => typer.username).sort() });
  }

  private patch(update: Partial<RoomSnapshot>): void {
    this.state = { ...this.state, ...update };
    this.queueChange();
  }

  /** Announce once per turn of the event loop, however many changes came. */
  private queueChange(): void {
    if (this.changeQueued || this.disposed) return;
    this.changeQueued = true;
    queueMicrotask(() => {
      this.changeQueued = false;
      if (this.disposed) return;
      const items = this.timeline.list();
      if (items !== this.state.items) this.state = { ...this.state, items };
      this.events.emit("change", undefined);
    });
  }
}

function withName(names: ReadonlyMap<string, string>, userId: string, username: string): ReadonlyMap<string, string> {
  if (names.get(userId) === username) return names;
  return new Map(names).set(userId, username);
}

function sameEnvelope(sent: Envelope, stored: unknown): boolean {
  const other = stored as Partial<Envelope> | null;
  return !!other && other.ct === sent.ct && other.iv === sent.iv && other.edk === sent.edk;
}

// View model of one open room (Element-style): a projection of the SDK's Room (lib/room.ts)
// into what the room view shows. Items are projected incrementally: a MessageView is made
// again only when its source (the SDK's item or outbox entry) or what else it shows (its
// sender's name, its reply quote, who reacted, its delivery) changed, so unchanged messages
// keep their identity and React.memo skips them.

import type { ChatClient } from "@/lib/chat-client";
import type { Delivery, MessageView, ReactionChip, ReplyQuote } from "@/features/room/stores/message-view";
import { Uploads, type UploadDeps } from "@/features/room/stores/uploads";
import { contentProblem, parseContent, type FileContent, type WireContent } from "@/lib/content";
import type { Progress } from "@/lib/file-transfer";
import type { OutboxEntry } from "@/lib/outbox";
import type { Room, RoomSnapshot } from "@/lib/room";
import type { MessageBody, TimelineItem } from "@/lib/room-timeline";
import { Store } from "@/lib/store";
import type { Member, User } from "@/lib/types";

export interface RoomViewState {
  status: "loading" | "ready" | "error";
  error: string | null;
  items: readonly MessageView[];
  hasOlder: boolean;
  loadingOlder: boolean;
  members: readonly Member[];
  typing: readonly string[];
  /** "New messages" start after this seq (null: no divider). */
  readSeq: number | null;
  /** Reaction keys used in the room, for the picker. */
  usedReactions: readonly string[];
  /** A message to show (a search hit): the view loads older pages, scrolls, highlights. */
  jump: JumpRequest | null;
}

export interface JumpRequest {
  messageId: string;
  seq: number;
}

interface Projected {
  source: TimelineItem | OutboxEntry;
  /** Whatever else the view shows (names, quote, delivery), as one comparable string. */
  extra: string;
  view: MessageView;
}

const QUOTE_CHARS = 140;

export class RoomViewStore {
  readonly store: Store<RoomViewState>;
  private projected = new Map<string, Projected>();
  private items: readonly MessageView[] = [];
  private usedReactions: readonly string[] = [];
  private readonly stops: (() => void)[];
  private jump: JumpRequest | null = null;
  /** Files on their way (sealing, uploading) or failed, shown at the end of the timeline. */
  readonly uploads: Uploads;

  constructor(
    private readonly room: Room,
    private readonly me: User,
    client?: Pick<ChatClient, "events">,
    describeImage?: UploadDeps["describeImage"],
  ) {
    this.store = new Store<RoomViewState>(this.project(room.snapshot()));
    this.uploads = new Uploads({ sendFile: (file, options) => room.sendFile(file, options), describeImage });
    this.stops = [room.events.on("change", () => this.store.set(this.project(room.snapshot())))];
    // A room whose load failed (opened during an outage) loads again once the link is back.
    if (client) this.stops.push(client.events.on("resumed", () => void this.reloadIfFailed()));
  }

  dispose(): void {
    for (const stop of this.stops.splice(0)) stop();
    this.uploads.dispose();
  }

  /** Seal, upload and send files (each its own message, in the order given). */
  attach(files: readonly File[]): void {
    for (const file of files) this.uploads.start(file);
  }

  /** Download and open a file message's file. */
  fetchFile(file: FileContent, options: { onProgress?: Progress; signal?: AbortSignal } = {}): Promise<Blob> {
    return this.room.fetchFile(file, options);
  }

  /** Ask the view to show a message (it calls reveal, then scrolls to it). */
  requestJump(messageId: string, seq: number): void {
    this.jump = { messageId, seq };
    this.store.set({ jump: this.jump });
  }

  /** The view took the jump request. */
  jumpDone(): void {
    this.jump = null;
    this.store.set({ jump: null });
  }

  /** Load older pages until the message `seq` is in the timeline; true when it is. */
  reveal(seq: number): Promise<boolean> {
    return this.room.reveal(seq);
  }

  /** Load again when the last load failed; otherwise nothing. */
  reloadIfFailed(): Promise<void> {
    return this.room.snapshot().status === "error" ? this.room.load() : Promise.resolve();
  }

  load(): Promise<void> {
    return this.room.load();
  }

  loadOlder(): Promise<void> {
    return this.room.loadOlder();
  }

  send(text: string): void {
    this.room.sendText(text);
  }

  reply(text: string, messageId: string): void {
    this.room.reply(text, messageId);
  }

  edit(messageId: string, text: string): void {
    this.room.edit(messageId, text);
  }

  /** Add my reaction `key`, or take it back if it is there. */
  toggleReaction(messageId: string, key: string): Promise<void> {
    const item = this.store.get().items.find((view) => view.messageId === messageId);
    if (item?.reactions.some((chip) => chip.key === key && chip.mine)) return this.room.unreact(messageId, key);
    this.room.react(messageId, key);
    return Promise.resolve();
  }

  deleteMessage(messageId: string): Promise<void> {
    return this.room.deleteMessage(messageId);
  }

  /** My latest message with text, for the Up key. */
  lastEditable(): MessageView | null {
    const item = this.room.lastEditable();
    return item ? (this.store.get().items.find((view) => view.messageId === item.id) ?? null) : null;
  }

  markRead(): void {
    this.room.markRead();
  }

  /** The view shows the room (again): place the "new messages" divider from the marker. */
  enter(): void {
    this.room.enter();
  }

  retry(clientMsgId: string): void {
    this.room.retry(clientMsgId);
  }

  reopen(messageId: string): void {
    this.room.reopen(messageId);
  }

  removeMember(userId: string): Promise<void> {
    return this.room.removeMember(userId);
  }

  noteTyping(active: boolean): void {
    this.room.noteTyping(active);
  }

  private project(snapshot: RoomSnapshot): RoomViewState {
    const next = new Map<string, Projected>();
    const items: MessageView[] = [];
    const byId = new Map(snapshot.items.map((item) => [item.id, item]));
    const nameOf = (userId: string) => snapshot.names.get(userId) ?? "former member";
    const iOwn = snapshot.members.some((member) => member.user.id === this.me.id && member.role === "owner");
    const quoteOf = (targetId: string | null): ReplyQuote | null => {
      if (!targetId) return null;
      const target = byId.get(targetId);
      return { messageId: targetId, senderName: target ? nameOf(target.senderId) : null, text: target ? quoteText(target.body) : "an earlier message" };
    };
    const take = (key: string, source: TimelineItem | OutboxEntry, extra: string, make: () => MessageView) => {
      const previous = this.projected.get(key);
      const view = previous && previous.source === source && previous.extra === extra ? previous.view : make();
      next.set(key, { source, extra, view });
      items.push(view);
    };
    const used = new Set<string>();
    for (const item of snapshot.items) {
      const mine = item.senderId === this.me.id;
      const name = nameOf(item.senderId);
      const replyTo = item.body.kind === "deleted" ? null : quoteOf(item.inReplyTo);
      const reactions: ReactionChip[] = Object.entries(item.reactions).map(([key, senders]) => {
        used.add(key);
        return { key, count: senders.length, names: senders.map(nameOf), mine: senders.includes(this.me.id) };
      });
      const hasText = item.body.kind === "text";
      const canDelete = item.body.kind !== "deleted" && (mine || iOwn);
      const extra = JSON.stringify([name, replyTo, reactions.map((chip) => chip.names), canDelete]);
      take(`${item.senderId}/${item.clientMsgId}`, item, extra, () => ({
        key: `${item.senderId}/${item.clientMsgId}`,
        messageId: item.id,
        seq: item.seq,
        senderId: item.senderId,
        senderName: name,
        mine,
        time: item.time,
        body: item.body,
        edited: item.edited,
        delivery: mine ? "sent" : null,
        sendError: null,
        clientMsgId: item.clientMsgId,
        replyTo,
        reactions,
        canEdit: mine && hasText,
        canDelete,
      }));
    }
    for (const entry of snapshot.pending) {
      // Edits and reactions fold into their target once stored; only texts stand alone.
      const content = entry.content;
      const relation = content.relates_to as { type?: string; message_id?: string } | undefined;
      if (relation?.type === "edit" || relation?.type === "reaction") continue;
      const key = `${this.me.id}/${entry.clientMsgId}`;
      if (next.has(key)) continue; // stored already, the outbox just has not heard yet
      // The connection's own state decides: while it is down nothing is "failing".
      const delivery: Delivery = !snapshot.connected && (entry.state === "sending" || entry.transient) ? "waiting" : entry.state;
      const replyTo = relation?.type === "reply" ? quoteOf(relation.message_id ?? null) : null;
      take(key, entry, JSON.stringify([delivery, replyTo]), () => ({
        key,
        messageId: null,
        seq: null,
        senderId: this.me.id,
        senderName: this.me.username,
        mine: true,
        time: entry.time,
        body: pendingBody(content),
        edited: false,
        delivery,
        sendError: delivery === "failed" ? entry.error : null,
        clientMsgId: entry.clientMsgId,
        replyTo,
        reactions: [],
        canEdit: false,
        canDelete: false,
      }));
    }
    this.projected = next;
    // Nothing re-made, added or dropped: the very same list, so the list itself skips too.
    const previous = this.items;
    if (previous.length !== items.length || items.some((view, index) => view !== previous[index])) this.items = items;
    const usedReactions = [...used].sort();
    if (usedReactions.join("\u0000") !== this.usedReactions.join("\u0000")) this.usedReactions = usedReactions;
    return {
      status: snapshot.status,
      error: snapshot.error,
      items: this.items,
      hasOlder: snapshot.hasOlder,
      loadingOlder: snapshot.loadingOlder,
      members: snapshot.members,
      typing: snapshot.typing,
      readSeq: snapshot.readSeq,
      usedReactions: this.usedReactions,
      jump: this.jump,
    };
  }
}

/** What a pending send shows: its text, or its file (the card, before the ack). */
function pendingBody(content: WireContent): MessageBody {
  if (content.type === "text" && typeof content.text === "string") return { kind: "text", text: content.text };
  if (content.type === "file" && contentProblem(content) === null) {
    const parsed = parseContent(content);
    if (parsed.type === "file") return { kind: "file", file: parsed as FileContent };
  }
  return { kind: "unsupported", type: content.type };
}

function quoteText(body: MessageBody): string {
  switch (body.kind) {
    case "text":
      return body.text.length > QUOTE_CHARS ? `${body.text.slice(0, QUOTE_CHARS)}…` : body.text;
    case "file":
      return `File: ${body.file.name}`;
    case "deleted":
      return "message deleted";
    case "opening":
      return "…";
    default:
      return "a message that cannot be shown";
  }
}

// View model of one open room (Element-style): a projection of the SDK's Room (lib/room.ts)
// into what the room view shows. Items are projected incrementally: a MessageView is made
// again only when its source (the SDK's item or outbox entry) or its sender's name changed,
// so unchanged messages keep their identity and React.memo skips them.

import type { Delivery, MessageView } from "@/features/room/stores/message-view";
import type { OutboxEntry } from "@/lib/outbox";
import type { Room, RoomSnapshot } from "@/lib/room";
import type { TimelineItem } from "@/lib/room-timeline";
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
}

interface Projected {
  source: TimelineItem | OutboxEntry;
  /** Whatever else the view shows (the sender's name, a delivery state). */
  extra: string;
  view: MessageView;
}

export class RoomViewStore {
  readonly store: Store<RoomViewState>;
  private projected = new Map<string, Projected>();
  private items: readonly MessageView[] = [];
  private readonly stop: () => void;

  constructor(
    private readonly room: Room,
    private readonly me: User,
  ) {
    this.store = new Store<RoomViewState>(this.project(room.snapshot()));
    this.stop = room.events.on("change", () => this.store.set(this.project(room.snapshot())));
  }

  dispose(): void {
    this.stop();
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
    const take = (key: string, source: TimelineItem | OutboxEntry, extra: string, make: () => MessageView) => {
      const previous = this.projected.get(key);
      const view = previous && previous.source === source && previous.extra === extra ? previous.view : make();
      next.set(key, { source, extra, view });
      items.push(view);
    };
    for (const item of snapshot.items) {
      const mine = item.senderId === this.me.id;
      const name = snapshot.names.get(item.senderId) ?? "former member";
      take(`${item.senderId}/${item.clientMsgId}`, item, name, () => ({
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
      }));
    }
    for (const entry of snapshot.pending) {
      // Edits and reactions fold into their target once stored; only texts stand alone.
      const content = entry.content;
      const relation = (content.relates_to as { type?: string } | undefined)?.type;
      if (relation === "edit" || relation === "reaction") continue;
      const key = `${this.me.id}/${entry.clientMsgId}`;
      if (next.has(key)) continue; // stored already, the outbox just has not heard yet
      // The connection's own state decides: while it is down nothing is "failing".
      const delivery: Delivery = !snapshot.connected && (entry.state === "sending" || entry.transient) ? "waiting" : entry.state;
      take(key, entry, delivery, () => ({
        key,
        messageId: null,
        seq: null,
        senderId: this.me.id,
        senderName: this.me.username,
        mine: true,
        time: entry.time,
        body: content.type === "text" && typeof content.text === "string" ? { kind: "text", text: content.text } : { kind: "unsupported", type: content.type },
        edited: false,
        delivery,
        sendError: delivery === "failed" ? entry.error : null,
        clientMsgId: entry.clientMsgId,
      }));
    }
    this.projected = next;
    // Nothing re-made, added or dropped: the very same list, so the list itself skips too.
    const previous = this.items;
    if (previous.length !== items.length || items.some((view, index) => view !== previous[index])) this.items = items;
    return {
      status: snapshot.status,
      error: snapshot.error,
      items: this.items,
      hasOlder: snapshot.hasOlder,
      loadingOlder: snapshot.loadingOlder,
      members: snapshot.members,
      typing: snapshot.typing,
    };
  }
}

// A room's timeline with relations applied: what a reader sees, in seq order
// (docs/envelope.md §5.3; the Python twin is sealchat/client/room_timeline.py).
//
// Edits and reactions are not items of their own; replies are items that name their
// target. A relation whose target is not here yet is held and applied when the target
// arrives, so any arrival order gives the same result. A delete (the server's marker, no
// content) turns its target into "message deleted": no text, no edits, no reactions; a
// deleted reaction or edit simply stops counting. Items are immutable: a change makes
// a new object for the one item it touches, and every other item keeps its identity, so a
// view can skip what did not change (React.memo compares by identity).

import type { Content, FileContent } from "@/lib/content";

/** What the timeline shows for one message. */
export type MessageBody =
  | { kind: "opening" }
  | { kind: "deleted" }
  | { kind: "text"; text: string }
  | { kind: "file"; file: FileContent }
  | { kind: "unsupported"; type: string }
  | { kind: "undecryptable"; reason: string; detail: string };

/** One message as it arrived (its metadata as the server delivered it). */
export interface TimelineEvent {
  id: string;
  seq: number;
  senderId: string;
  clientMsgId: string;
  /** Server time, ISO 8601. */
  time: string;
  /** The server's relates_to: what a deleted message (no content left) was. */
  serverRelation?: { type: string; message_id: string } | null;
  /** Deleted on the server (its envelope is gone). */
  deleted?: boolean;
}

/** An opened message's content, or why it is not (yet) known. */
export type Opening =
  | { kind: "opening" }
  | { kind: "opened"; content: Content }
  | { kind: "undecryptable"; reason: string; detail: string }
  | { kind: "deleted" };

export interface TimelineItem extends TimelineEvent {
  readonly body: MessageBody;
  readonly edited: boolean;
  /** Per reaction key, the distinct sender ids that reacted with it, sorted. */
  readonly reactions: Readonly<Record<string, readonly string[]>>;
  /** Per reaction key and sender, the ids of their reaction messages (to take one back). */
  readonly reactionIds: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  readonly inReplyTo: string | null;
}

interface Entry extends TimelineEvent {
  opening: Opening;
}

export class RoomTimeline {
  private readonly entries = new Map<string, Entry>();
  private readonly items = new Map<string, TimelineItem>();
  /** Edits and reactions by target id, held (target not here) or applied alike. */
  private readonly relations = new Map<string, Entry[]>();
  /** Ids a delete marker named (the target may come later, from an older page). */
  private readonly deletes = new Set<string>();
  private ordered: TimelineItem[] | null = [];

  /** Take one message; returns the id of the item that changed, or null (a duplicate, or a
   * relation whose target is not here or not an item). */
  add(event: TimelineEvent, opening: Opening = { kind: "opening" }): string | null {
    if (this.entries.has(event.id)) return null;
    if (event.serverRelation?.type === "delete") return this.addDelete(event);
    const deleted = event.deleted || this.deletes.has(event.id);
    const entry: Entry = { ...event, opening };
    if (deleted) turnDeleted(entry);
    this.entries.set(event.id, entry);
    return this.place(entry);
  }

  /** A delete marker: its target loses its content for good (now, or when it arrives). */
  private addDelete(event: TimelineEvent): string | null {
    const targetId = event.serverRelation!.message_id;
    this.entries.set(event.id, { ...event, opening: { kind: "deleted" } });
    this.deletes.add(targetId);
    const target = this.entries.get(targetId);
    if (!target || target.opening.kind === "deleted") return null;
    const wasItem = isItem(target);
    turnDeleted(target);
    if (wasItem && !isItem(target)) {
      this.items.delete(target.id);
      this.ordered = null;
    }
    return this.place(target);
  }

  isDeleted(id: string): boolean {
    return this.deletes.has(id) || this.entries.get(id)?.opening.kind === "deleted";
  }

  /** The message `id` was opened (or failed to open), or is being opened again. */
  update(id: string, opening: Opening): string | null {
    const entry = this.entries.get(id);
    if (!entry || entry.opening.kind === "deleted") return null;
    const wasItem = isItem(entry);
    entry.opening = opening;
    if (wasItem && !isItem(entry)) {
      // A placeholder turned out to be an edit or a reaction: it leaves the item list.
      this.items.delete(id);
      this.ordered = null;
    }
    return this.place(entry);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  opening(id: string): Opening | undefined {
    return this.entries.get(id)?.opening;
  }

  /** Every item, ordered by seq. The same array until something changes. */
  list(): readonly TimelineItem[] {
    this.ordered ??= [...this.items.values()].sort((a, b) => a.seq - b.seq);
    return this.ordered;
  }

  item(id: string): TimelineItem | undefined {
    return this.items.get(id);
  }

  /** The lowest seq held (history pages load before it). */
  oldestSeq(): number | null {
    let oldest: number | null = null;
    for (const entry of this.entries.values()) if (oldest === null || entry.seq < oldest) oldest = entry.seq;
    return oldest;
  }

  /** How many relations wait for a target that is not here. */
  held(): number {
    let count = 0;
    for (const [target, related] of this.relations) if (!this.entries.has(target)) count += related.length;
    return count;
  }

  private place(entry: Entry): string | null {
    if (relationOf(entry)?.type === "delete") return null;
    if (isItem(entry)) {
      this.rebuild(entry);
      return entry.id;
    }
    const target = relationOf(entry)!.message_id;
    const related = this.relations.get(target) ?? [];
    if (!related.includes(entry)) related.push(entry);
    this.relations.set(target, related);
    const targetEntry = this.entries.get(target);
    if (!targetEntry || !isItem(targetEntry)) return null;
    this.rebuild(targetEntry);
    return target;
  }

  private rebuild(entry: Entry): void {
    this.items.set(entry.id, this.build(entry));
    this.ordered = null;
  }

  private build(entry: Entry): TimelineItem {
    const { opening } = entry;
    const content = opening.kind === "opened" ? opening.content : null;
    let body: MessageBody;
    if (opening.kind === "deleted") body = { kind: "deleted" };
    else if (opening.kind === "opening") body = { kind: "opening" };
    else if (opening.kind === "undecryptable") body = { kind: "undecryptable", reason: opening.reason, detail: opening.detail };
    else if (content?.type === "text" && "text" in content) body = { kind: "text", text: content.text };
    else if (content?.type === "file" && "blob_id" in content) body = { kind: "file", file: content };
    else body = { kind: "unsupported", type: content?.type ?? "" };
    const relation = relationOf(entry);
    const related = this.relations.get(entry.id) ?? [];
    let edited = false;
    if (body.kind === "text") {
      // Only the sender edits their own message; the highest seq wins.
      let latest: Entry | null = null;
      for (const candidate of related) {
        if (relationOf(candidate)?.type !== "edit" || candidate.senderId !== entry.senderId) continue;
        if (candidate.opening.kind === "deleted") continue; // a deleted edit: the one before counts
        if (!latest || candidate.seq > latest.seq) latest = candidate;
      }
      const latestContent = latest?.opening.kind === "opened" ? latest.opening.content : null;
      if (latestContent?.type === "text" && "text" in latestContent) {
        body = { kind: "text", text: latestContent.text };
        edited = true;
      }
    }
    // Per key, per sender, their reaction messages (none on a deleted message).
    const senders = new Map<string, Map<string, string[]>>();
    for (const candidate of body.kind === "deleted" ? [] : related) {
      const reaction = candidate.opening.kind === "opened" ? candidate.opening.content : null;
      if (reaction?.type !== "reaction" || !("key" in reaction)) continue;
      const bySender = senders.get(reaction.key) ?? new Map<string, string[]>();
      bySender.set(candidate.senderId, [...(bySender.get(candidate.senderId) ?? []), candidate.id]);
      senders.set(reaction.key, bySender);
    }
    const reactions: Record<string, string[]> = {};
    const reactionIds: Record<string, Record<string, string[]>> = {};
    for (const key of [...senders.keys()].sort()) {
      const bySender = senders.get(key)!;
      reactions[key] = [...bySender.keys()].sort();
      reactionIds[key] = Object.fromEntries(bySender);
    }
    return {
      id: entry.id,
      seq: entry.seq,
      senderId: entry.senderId,
      clientMsgId: entry.clientMsgId,
      time: entry.time,
      body,
      edited,
      reactions,
      reactionIds,
      inReplyTo: relation?.type === "reply" ? relation.message_id : null,
    };
  }
}

/** The content goes; what it related to stays known (a deleted reaction still folds). */
function turnDeleted(entry: Entry): void {
  entry.serverRelation = entry.serverRelation ?? relationOf(entry);
  entry.opening = { kind: "deleted" };
}

/** The sealed relation of an opened message; for a deleted one (or a delete marker), what the
 * server says it was, so a deleted reaction or edit still folds (and counts for nothing). */
function relationOf(entry: Entry): { type: string; message_id: string } | null {
  if (entry.opening.kind === "deleted") return entry.serverRelation ?? null;
  if (entry.opening.kind !== "opened") return null;
  const content = entry.opening.content;
  return "relates_to" in content && content.relates_to ? content.relates_to : null;
}

/** Edits and reactions fold into their target; everything else (placeholders too) is an item. */
function isItem(entry: Entry): boolean {
  const type = relationOf(entry)?.type;
  return type !== "edit" && type !== "reaction" && type !== "delete";
}

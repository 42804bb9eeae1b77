// Per-room ordering (port of sealchat/client/timeline.py): every message once, in seq
// order, no gaps. Live events, acks of our own sends and sync replies may arrive in any
// order; a message is released only when it is the next one after the room's cursor.

import type { Message } from "@/lib/types";

export class ReorderBuffer {
  /** Per room, the highest seq accepted contiguously. */
  readonly cursors = new Map<string, number>();
  private readonly held = new Map<string, Map<number, Message>>();

  /** Track a room from `lastSeq` on (what came before is history, not "missed"). */
  startAt(roomId: string, lastSeq: number): void {
    if (!this.cursors.has(roomId)) this.cursors.set(roomId, lastSeq);
  }

  forget(roomId: string): void {
    this.cursors.delete(roomId);
    this.held.delete(roomId);
  }

  /** Take one message; return those now ready, in order (maybe none). */
  accept(message: Message): Message[] {
    const roomId = message.room_id;
    const seq = message.seq;
    let cursor = this.cursors.get(roomId) ?? seq - 1;
    this.cursors.set(roomId, cursor);
    if (seq <= cursor) return [];
    let held = this.held.get(roomId);
    if (!held) {
      held = new Map();
      this.held.set(roomId, held);
    }
    if (!held.has(seq)) held.set(seq, message);
    const ready: Message[] = [];
    let next = held.get(cursor + 1);
    while (next) {
      held.delete(cursor + 1);
      cursor += 1;
      ready.push(next);
      next = held.get(cursor + 1);
    }
    this.cursors.set(roomId, cursor);
    if (held.size === 0) this.held.delete(roomId);
    return ready;
  }

  /** True while some room holds messages beyond a missing one. */
  hasGap(): boolean {
    return this.held.size > 0;
  }

  cursorObject(): Record<string, number> {
    return Object.fromEntries(this.cursors);
  }
}

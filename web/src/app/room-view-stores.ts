// One RoomViewStore per room opened in this session, kept while the room stays in my list;
// the SDK keeps each Room (timeline, scroll-back, pending sends) for the session.

import { describeImage } from "@/features/room/stores/image-facts";
import { RoomViewStore } from "@/features/room/stores/room-view-store";
import type { ChatSession } from "@/lib/chat-session";

export class RoomViewStores {
  private readonly stores = new Map<string, RoomViewStore>();

  constructor(private readonly session: ChatSession) {}

  get(roomId: string): RoomViewStore {
    let store = this.stores.get(roomId);
    if (!store) {
      store = new RoomViewStore(this.session.room(roomId), this.session.me, this.session.client, describeImage);
      this.stores.set(roomId, store);
    }
    return store;
  }

  /** Drop the stores of rooms no longer mine. */
  keepOnly(roomIds: Set<string>): void {
    for (const [roomId, store] of this.stores) {
      if (!roomIds.has(roomId)) {
        store.dispose();
        this.stores.delete(roomId);
      }
    }
  }

  dispose(): void {
    for (const store of this.stores.values()) store.dispose();
    this.stores.clear();
  }
}

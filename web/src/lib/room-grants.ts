// Room-access grants from the chat server (docs/key-service.md §4), reused until 80 % of
// their lifetime has passed; forgotten when we leave a room.

import type { ApiClient } from "@/lib/api-client";

interface GrantReply {
  grant: string;
  room_id: string;
  expires_in: number;
}

export class RoomGrants {
  private readonly cache = new Map<string, { grant: string; usableUntil: number }>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly api: ApiClient) {}

  get = (roomId: string): Promise<string> => {
    const cached = this.cache.get(roomId);
    if (cached && cached.usableUntil > performance.now()) return Promise.resolve(cached.grant);
    let request = this.pending.get(roomId);
    if (!request) {
      request = this.api
        .post<GrantReply>(`/api/rooms/${encodeURIComponent(roomId)}/key-grant`)
        .then((reply) => {
          this.cache.set(roomId, { grant: reply.grant, usableUntil: performance.now() + 800 * reply.expires_in });
          return reply.grant;
        })
        .finally(() => this.pending.delete(roomId));
      this.pending.set(roomId, request);
    }
    return request;
  };

  forget(roomId: string): void {
    this.cache.delete(roomId);
  }
}

// REST calls on one room (docs/protocol.md §3.4): history pages, members, removing one.

import type { ApiClient } from "@/lib/api-client";
import type { Member, Message } from "@/lib/types";

const room = (id: string) => `/api/rooms/${encodeURIComponent(id)}`;

export interface HistoryPage {
  messages: Message[];
  has_more: boolean;
}

export const roomApi = {
  history(api: ApiClient, roomId: string, limit: number, beforeSeq?: number): Promise<HistoryPage> {
    return api.get<HistoryPage>(`${room(roomId)}/messages`, { limit, before_seq: beforeSeq });
  },
  async members(api: ApiClient, roomId: string): Promise<Member[]> {
    return (await api.get<{ members: Member[] }>(`${room(roomId)}/members`)).members;
  },
  /** An owner removes someone (204; member:left follows to the room). */
  removeMember(api: ApiClient, roomId: string, userId: string): Promise<void> {
    return api.delete(`${room(roomId)}/members/${encodeURIComponent(userId)}`);
  },
};

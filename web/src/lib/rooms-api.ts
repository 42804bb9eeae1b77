// REST calls on the room list (docs/protocol.md §3.3): the directory, create, join, leave,
// invitations, direct messages, read markers.

import type { ApiClient } from "@/lib/api-client";
import type { DirectoryRoom, Invitation, InviteResult, MyRoom } from "@/lib/types";

const room = (id: string) => `/api/rooms/${encodeURIComponent(id)}`;

export const roomsApi = {
  async directory(api: ApiClient): Promise<DirectoryRoom[]> {
    return (await api.get<{ rooms: DirectoryRoom[] }>("/api/rooms/directory")).rooms;
  },
  async create(api: ApiClient, name: string, visibility: "public" | "private"): Promise<MyRoom> {
    return (await api.post<{ room: MyRoom }>("/api/rooms", { name, visibility })).room;
  },
  async join(api: ApiClient, roomId: string): Promise<MyRoom> {
    return (await api.post<{ room: MyRoom }>(`${room(roomId)}/join`)).room;
  },
  async leave(api: ApiClient, roomId: string): Promise<void> {
    await api.post<void>(`${room(roomId)}/leave`);
  },
  /** Adding someone invites them; they become a member by accepting. */
  async invite(api: ApiClient, roomId: string, username: string): Promise<InviteResult> {
    return await api.post<InviteResult>(`${room(roomId)}/invitations`, { username });
  },
  async invitations(api: ApiClient): Promise<Invitation[]> {
    return (await api.get<{ invitations: Invitation[] }>("/api/invitations")).invitations;
  },
  async acceptInvitation(api: ApiClient, roomId: string): Promise<MyRoom> {
    return (await api.post<{ room: MyRoom }>(`/api/invitations/${encodeURIComponent(roomId)}/accept`)).room;
  },
  async declineInvitation(api: ApiClient, roomId: string): Promise<void> {
    await api.post<void>(`/api/invitations/${encodeURIComponent(roomId)}/decline`);
  },
  /** Move my read marker forward (never back) to `seq`. */
  async markRead(api: ApiClient, roomId: string, seq: number): Promise<void> {
    await api.post<unknown>(`${room(roomId)}/read`, { seq });
  },
  async openDm(api: ApiClient, username: string): Promise<MyRoom> {
    return (await api.post<{ room: MyRoom }>("/api/dms", { username })).room;
  },
};

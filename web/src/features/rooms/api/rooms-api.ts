import type { ApiClient } from "@/lib/api-client";
import type { DirectoryRoom, Member, MyRoom } from "@/lib/types";

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
  async addMember(api: ApiClient, roomId: string, username: string): Promise<Member> {
    return (await api.post<{ member: Member }>(`${room(roomId)}/members`, { username })).member;
  },
  async openDm(api: ApiClient, username: string): Promise<MyRoom> {
    return (await api.post<{ room: MyRoom }>("/api/dms", { username })).room;
  },
};

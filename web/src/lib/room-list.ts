// My rooms as the SDK knows them: the list (read on every connect, kept current by
// room:joined / room:left / room:gone), my pending invitations, and unread counts against
// the read markers. The view says which room the person is looking at (`viewing`); its
// messages count as read. No UI here: views subscribe to `events.change` and read
// `snapshot()`.

import type { ApiClient } from "@/lib/api-client";
import type { ChatClient } from "@/lib/chat-client";
import { Emitter } from "@/lib/emitter";
import type { ReadMarkers } from "@/lib/read-markers";
import { roomsApi } from "@/lib/rooms-api";
import type { DirectoryRoom, Invitation, InviteResult, Message, MyRoom, User } from "@/lib/types";

export interface RoomListSnapshot {
  /** False until the rooms were read once. */
  readonly loaded: boolean;
  /** Sorted by name, case-insensitively first. */
  readonly rooms: readonly MyRoom[];
  readonly unread: Readonly<Record<string, number>>;
  /** Rooms I am invited to; I join one only by accepting it. */
  readonly invitations: readonly Invitation[];
}

export class RoomList {
  readonly events = new Emitter<{ change: undefined }>();
  private state: RoomListSnapshot = { loaded: false, rooms: [], unread: {}, invitations: [] };
  private viewed: string | null = null;
  /** Per room, the newest seq counted into `unread` (later ones are counted as they come). */
  private readonly counted = new Map<string, number>();
  /** Per room, the read marker the server has (posted by us or told by read:updated). */
  private readonly posted = new Map<string, number>();
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly api: ApiClient,
    private readonly client: ChatClient,
    private readonly markers: ReadMarkers,
    private readonly me: User,
  ) {
    const events = client.events;
    this.cleanups.push(
      events.on("rooms", (rooms) => {
        this.onRooms(rooms);
        void this.loadInvitations(); // what arrived while disconnected
      }),
      events.on("invitation:new", (invitation) => this.upsertInvitation(invitation)),
      events.on("invitation:closed", ({ room_id }) => this.dropInvitation(room_id)),
      events.on("room:joined", (room) => this.upsert(room)),
      events.on("room:left", ({ room_id }) => this.remove(room_id)),
      events.on("room:gone", (roomId) => this.remove(roomId)),
      events.on("messages", (messages) => this.onMessages(messages)),
      events.on("read:updated", ({ room_id, seq }) => this.onReadElsewhere(room_id, seq)),
    );
    if (client.rooms) this.onRooms(client.rooms); // read before we were made
  }

  snapshot(): RoomListSnapshot {
    return this.state;
  }

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.events.clear();
  }

  /** The room the person is looking at (open, tab visible), or null: its messages are read. */
  viewing(roomId: string | null): void {
    this.viewed = roomId;
    if (!roomId) return;
    // The marker itself moves when the view sees the end (markRead), not here: until then
    // it says where "new messages" start.
    if (this.state.unread[roomId]) this.patch({ unread: { ...this.state.unread, [roomId]: 0 } });
  }

  /**
   * I have read a room up to `seq` (it is open, visible and scrolled to the bottom): the badge
   * clears and the server's marker moves, which my other devices hear as read:updated.
   */
  markRead(roomId: string, seq: number): void {
    this.markers.set(roomId, seq);
    if (this.state.unread[roomId]) this.patch({ unread: { ...this.state.unread, [roomId]: 0 } });
    if ((this.posted.get(roomId) ?? -1) >= seq) return;
    this.posted.set(roomId, seq);
    roomsApi.markRead(this.api, roomId, seq).catch(() => {
      this.posted.delete(roomId); // offline: the next look at the room posts it again
    });
  }

  // -- actions (each throws an ApiError) --------------------------------------------------

  async create(name: string, visibility: "public" | "private"): Promise<MyRoom> {
    return this.added(await roomsApi.create(this.api, name, visibility));
  }

  async join(roomId: string): Promise<MyRoom> {
    return this.added(await roomsApi.join(this.api, roomId));
  }

  async openDm(username: string): Promise<MyRoom> {
    return this.added(await roomsApi.openDm(this.api, username));
  }

  /** Invite someone (the way to add a member): they join when they accept. */
  invite(roomId: string, username: string): Promise<InviteResult> {
    return roomsApi.invite(this.api, roomId, username);
  }

  async acceptInvitation(roomId: string): Promise<MyRoom> {
    const room = await roomsApi.acceptInvitation(this.api, roomId);
    this.dropInvitation(roomId);
    return this.added(room);
  }

  async declineInvitation(roomId: string): Promise<void> {
    await roomsApi.declineInvitation(this.api, roomId);
    this.dropInvitation(roomId);
  }

  async loadInvitations(): Promise<void> {
    try {
      this.patch({ invitations: await roomsApi.invitations(this.api) });
    } catch {
      // Offline or signed out: the next connect reads them again.
    }
  }

  directory(): Promise<DirectoryRoom[]> {
    return roomsApi.directory(this.api);
  }

  /** A room is no longer mine (left, removed, gone). */
  remove(roomId: string): void {
    this.markers.forget(roomId);
    if (!this.state.rooms.some((room) => room.id === roomId)) return;
    const { [roomId]: _, ...unread } = this.state.unread;
    this.patch({ rooms: this.state.rooms.filter((room) => room.id !== roomId), unread });
  }

  // -- events ---------------------------------------------------------------------------

  private onRooms(rooms: MyRoom[]): void {
    const first = !this.state.loaded;
    const known = new Set(this.state.rooms.map((room) => room.id));
    const unread: Record<string, number> = {};
    for (const room of rooms) {
      if (room.unread !== undefined && room.last_read_seq !== undefined) {
        // The server keeps the marker (the same on every device) and counts for us.
        this.markers.set(room.id, room.last_read_seq);
        this.posted.set(room.id, Math.max(this.posted.get(room.id) ?? -1, room.last_read_seq));
        this.counted.set(room.id, room.last_seq);
        unread[room.id] = room.id === this.viewed ? 0 : room.unread;
        continue;
      }
      if (known.has(room.id)) {
        unread[room.id] = this.state.unread[room.id] ?? 0; // sync brings what it missed, counted as it comes
        continue;
      }
      const marker = this.markers.get(room.id);
      if (marker === undefined && first) this.markers.set(room.id, room.last_seq); // a new device: all read
      unread[room.id] = Math.max(0, room.last_seq - (marker ?? (first ? room.last_seq : 0)));
    }
    this.patch({ loaded: true, rooms: sortRooms(rooms), unread });
  }

  private onMessages(messages: Message[]): void {
    const unread = { ...this.state.unread };
    for (const message of messages) {
      // Counted already (in the server's unread), or a relation that is not news.
      if (message.seq <= (this.counted.get(message.room_id) ?? -1)) continue;
      this.counted.set(message.room_id, message.seq);
      const relation = message.relates_to?.type;
      if (relation && relation !== "reply") continue;
      if (message.sender_id === this.me.id) {
        unread[message.room_id] = 0; // writing in a room means having read it
        this.markers.set(message.room_id, message.seq);
      } else if (message.room_id !== this.viewed) {
        unread[message.room_id] = (unread[message.room_id] ?? 0) + 1;
      }
    }
    this.patch({ unread });
  }

  /** Another device of mine read up to `seq`. */
  private onReadElsewhere(roomId: string, seq: number): void {
    this.markers.set(roomId, seq);
    this.posted.set(roomId, Math.max(this.posted.get(roomId) ?? -1, seq));
    const newest = this.client.newestSeq(roomId) ?? seq;
    if (seq >= newest && this.state.unread[roomId]) this.patch({ unread: { ...this.state.unread, [roomId]: 0 } });
  }

  private upsertInvitation(invitation: Invitation): void {
    this.patch({ invitations: [...this.state.invitations.filter((known) => known.room.id !== invitation.room.id), invitation] });
  }

  private dropInvitation(roomId: string): void {
    this.patch({ invitations: this.state.invitations.filter((known) => known.room.id !== roomId) });
  }

  private added(room: MyRoom): MyRoom {
    this.client.track(room);
    this.upsert(room);
    return room;
  }

  private upsert(room: MyRoom): void {
    const exists = this.state.rooms.some((known) => known.id === room.id);
    // A room new to me: what was said before I came is history, not news (as the server counts).
    if (!exists && this.markers.get(room.id) === undefined) this.markers.set(room.id, room.last_read_seq ?? room.last_seq);
    const rooms = exists ? this.state.rooms.map((known) => (known.id === room.id ? room : known)) : [...this.state.rooms, room];
    const unread = exists ? this.state.unread : { ...this.state.unread, [room.id]: Math.max(0, room.last_seq - (this.markers.get(room.id) ?? 0)) };
    this.patch({ rooms: sortRooms(rooms), unread });
  }

  private patch(update: Partial<RoomListSnapshot>): void {
    this.state = { ...this.state, ...update };
    this.events.emit("change", undefined);
  }
}

function sortRooms(rooms: readonly MyRoom[]): MyRoom[] {
  // Case-insensitive first, so "OPS" and "ops" sit side by side and are both seen.
  return [...rooms].sort(
    (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
  );
}

/** A direct room is named after its people ("alice, bob"): show the other one. */
export function roomTitle(room: MyRoom, myUsername: string): string {
  if (room.visibility !== "direct") return room.name;
  const others = room.name.split(", ").filter((name) => name !== myUsername);
  return others.join(", ") || myUsername;
}

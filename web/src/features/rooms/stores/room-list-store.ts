// View model of the room list: my rooms with unread counts, the selected room, the public
// directory, my pending invitations, and the actions on rooms (create, join, leave, invite
// someone, accept or decline an invitation, open a DM).

import { roomsApi } from "@/features/rooms/api/rooms-api";
import type { ChatSession } from "@/lib/chat-session";
import type { ReadMarkers } from "@/lib/read-markers";
import { Store } from "@/lib/store";
import type { DirectoryRoom, Invitation, InviteResult, Message, MyRoom } from "@/lib/types";

export interface RoomsState {
  loaded: boolean;
  rooms: MyRoom[];
  unread: Record<string, number>;
  selectedId: string | null;
  directory: DirectoryRoom[] | null;
  /** Rooms I am invited to; I join one only by accepting it. */
  invitations: Invitation[];
}

/** Where the open room is kept (the URL, /rooms/:id, in the app; nothing in tests). */
export interface RoomSelection {
  /** The room the URL asks for, if any. */
  requested(): string | null;
  /** The open room changed: show it in the URL. */
  show(roomId: string | null): void;
}

const NO_SELECTION: RoomSelection = { requested: () => null, show: () => undefined };

export class RoomListStore {
  readonly store = new Store<RoomsState>({
    loaded: false,
    rooms: [],
    unread: {},
    selectedId: null,
    directory: null,
    invitations: [],
  });
  private readonly markers: ReadMarkers;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly session: ChatSession,
    private readonly selection: RoomSelection = NO_SELECTION,
  ) {
    this.markers = session.readMarkers;
    const events = session.client.events;
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
    );
    // Coming back to the tab reads the open room.
    const onVisible = () => {
      const { selectedId } = this.store.get();
      if (document.visibilityState === "visible" && selectedId) this.select(selectedId);
    };
    document.addEventListener("visibilitychange", onVisible);
    this.cleanups.push(() => document.removeEventListener("visibilitychange", onVisible));
    if (session.client.rooms) this.onRooms(session.client.rooms); // read before we were made
    void this.loadInvitations();
  }

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  get selected(): MyRoom | null {
    const { rooms, selectedId } = this.store.get();
    return rooms.find((room) => room.id === selectedId) ?? null;
  }

  select(roomId: string | null): void {
    this.store.set((state) => ({ selectedId: roomId, unread: roomId ? { ...state.unread, [roomId]: 0 } : state.unread }));
    if (roomId) this.markRead(roomId);
    this.selection.show(roomId);
  }

  /** The URL asks for a room (a link, back or forward): open it if it is mine. */
  selectRequested(): boolean {
    const roomId = this.selection.requested();
    if (!roomId || !this.store.get().rooms.some((room) => room.id === roomId)) return false;
    if (this.store.get().selectedId !== roomId) this.select(roomId);
    return true;
  }

  /** The person has seen the newest message of a room (it is open and visible). */
  markRead(roomId: string): void {
    const seq = this.session.client.newestSeq(roomId);
    if (seq !== undefined) this.markers.set(roomId, seq);
  }

  // -- actions (each throws an ApiError the dialogs show) ---------------------------------

  async createRoom(name: string, visibility: "public" | "private"): Promise<void> {
    this.addAndSelect(await roomsApi.create(this.session.api, name, visibility));
  }

  async joinRoom(roomId: string): Promise<void> {
    this.addAndSelect(await roomsApi.join(this.session.api, roomId));
  }

  async openDm(username: string): Promise<void> {
    this.addAndSelect(await roomsApi.openDm(this.session.api, username));
  }

  /** Invite someone (the way to add a member): they join when they accept. */
  async invite(roomId: string, username: string): Promise<InviteResult> {
    return await roomsApi.invite(this.session.api, roomId, username);
  }

  async acceptInvitation(roomId: string): Promise<void> {
    const room = await roomsApi.acceptInvitation(this.session.api, roomId);
    this.dropInvitation(roomId);
    this.addAndSelect(room);
  }

  async declineInvitation(roomId: string): Promise<void> {
    await roomsApi.declineInvitation(this.session.api, roomId);
    this.dropInvitation(roomId);
  }

  async loadInvitations(): Promise<void> {
    try {
      this.store.set({ invitations: await roomsApi.invitations(this.session.api) });
    } catch {
      // Offline or signed out: the next connect reads them again.
    }
  }

  async leaveRoom(roomId: string): Promise<void> {
    await roomsApi.leave(this.session.api, roomId);
    this.session.leftRoom(roomId);
    this.remove(roomId);
  }

  async loadDirectory(): Promise<void> {
    this.store.set({ directory: await roomsApi.directory(this.session.api) });
  }

  // -- events ---------------------------------------------------------------------------

  private onRooms(rooms: MyRoom[]): void {
    const first = !this.store.get().loaded;
    const known = new Set(this.store.get().rooms.map((room) => room.id));
    const unread = { ...this.store.get().unread };
    for (const room of rooms) {
      if (known.has(room.id)) continue; // sync brings what it missed, counted as it comes
      const marker = this.markers.get(room.id);
      if (marker === undefined && first) this.markers.set(room.id, room.last_seq); // a new device: all read
      unread[room.id] = Math.max(0, room.last_seq - (marker ?? (first ? room.last_seq : 0)));
    }
    this.store.set({ loaded: true, rooms: sortRooms(rooms), unread });
    const { selectedId } = this.store.get();
    if (first || (selectedId && !rooms.some((room) => room.id === selectedId))) {
      if (!this.selectRequested()) this.select(rooms[0]?.id ?? null);
    }
  }

  private onMessages(messages: Message[]): void {
    const { selectedId } = this.store.get();
    const unread = { ...this.store.get().unread };
    for (const message of messages) {
      if (message.sender_id === this.session.me.id) {
        unread[message.room_id] = 0; // writing in a room means having read it
        this.markers.set(message.room_id, message.seq);
      } else if (message.room_id === selectedId && document.visibilityState === "visible") {
        this.markers.set(message.room_id, message.seq);
      } else {
        unread[message.room_id] = (unread[message.room_id] ?? 0) + 1;
      }
    }
    this.store.set({ unread });
  }

  private upsertInvitation(invitation: Invitation): void {
    this.store.set((state) => ({
      invitations: [...state.invitations.filter((known) => known.room.id !== invitation.room.id), invitation],
    }));
  }

  private dropInvitation(roomId: string): void {
    this.store.set((state) => ({ invitations: state.invitations.filter((known) => known.room.id !== roomId) }));
  }

  private addAndSelect(room: MyRoom): void {
    this.session.client.track(room);
    this.upsert(room);
    this.select(room.id);
  }

  private upsert(room: MyRoom): void {
    this.store.set((state) => {
      const exists = state.rooms.some((known) => known.id === room.id);
      const rooms = exists ? state.rooms.map((known) => (known.id === room.id ? room : known)) : [...state.rooms, room];
      const unread = exists ? state.unread : { ...state.unread, [room.id]: Math.max(0, room.last_seq - (this.markers.get(room.id) ?? 0)) };
      return { rooms: sortRooms(rooms), unread };
    });
  }

  private remove(roomId: string): void {
    this.markers.forget(roomId);
    const wasSelected = this.store.get().selectedId === roomId;
    this.store.set((state) => ({ rooms: state.rooms.filter((room) => room.id !== roomId) }));
    if (wasSelected) this.select(this.store.get().rooms[0]?.id ?? null);
  }
}

function sortRooms(rooms: MyRoom[]): MyRoom[] {
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

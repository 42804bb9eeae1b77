// View model of the room list: a projection of the SDK's RoomList (lib/room-list.ts) plus
// what only the view knows: the selected room (kept in the URL by app/), whether the tab is
// visible, and the public directory while its dialog is open. Actions go to the SDK.

import type { ChatSession } from "@/lib/chat-session";
import type { RoomList, RoomListSnapshot } from "@/lib/room-list";
import { Store } from "@/lib/store";
import type { DirectoryRoom, Invitation, InviteResult, MyRoom } from "@/lib/types";

export interface RoomsState {
  loaded: boolean;
  rooms: readonly MyRoom[];
  unread: Readonly<Record<string, number>>;
  selectedId: string | null;
  directory: DirectoryRoom[] | null;
  /** Rooms I am invited to; I join one only by accepting it. */
  invitations: readonly Invitation[];
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
  readonly store: Store<RoomsState>;
  private readonly list: RoomList;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly session: ChatSession,
    private readonly selection: RoomSelection = NO_SELECTION,
  ) {
    this.list = session.roomList;
    this.store = new Store<RoomsState>({ ...project(this.list.snapshot()), selectedId: null, directory: null });
    this.cleanups.push(this.list.events.on("change", () => this.update()));
    // Coming back to the tab reads the open room; leaving it stops reading.
    const onVisible = () => this.list.viewing(this.visible() ? this.store.get().selectedId : null);
    document.addEventListener("visibilitychange", onVisible);
    this.cleanups.push(() => document.removeEventListener("visibilitychange", onVisible));
    if (this.list.snapshot().loaded) this.selectInitial();
    void this.list.loadInvitations();
  }

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.list.viewing(null);
  }

  get selected(): MyRoom | null {
    const { rooms, selectedId } = this.store.get();
    return rooms.find((room) => room.id === selectedId) ?? null;
  }

  select(roomId: string | null): void {
    this.store.set({ selectedId: roomId });
    this.list.viewing(roomId && this.visible() ? roomId : null);
    this.selection.show(roomId);
  }

  /** Open the room ``step`` places down (1) or up (-1) the sidebar's order, wrapping around. */
  selectAdjacent(step: 1 | -1): void {
    const order = sidebarOrder(this.store.get().rooms);
    if (!order.length) return;
    const at = order.findIndex((room) => room.id === this.store.get().selectedId);
    const next = at === -1 ? (step === 1 ? 0 : order.length - 1) : (at + step + order.length) % order.length;
    this.select(order[next]!.id);
  }

  /** The URL asks for a room (a link, back or forward): open it if it is mine. */
  selectRequested(): boolean {
    const roomId = this.selection.requested();
    if (!roomId || !this.store.get().rooms.some((room) => room.id === roomId)) return false;
    if (this.store.get().selectedId !== roomId) this.select(roomId);
    return true;
  }

  // -- actions (each throws an ApiError the dialogs show) ---------------------------------

  async createRoom(name: string, visibility: "public" | "private"): Promise<void> {
    this.select((await this.list.create(name, visibility)).id);
  }

  async joinRoom(roomId: string): Promise<void> {
    this.select((await this.list.join(roomId)).id);
  }

  async openDm(username: string): Promise<void> {
    this.select((await this.list.openDm(username)).id);
  }

  /** Invite someone (the way to add a member): they join when they accept. */
  invite(roomId: string, username: string): Promise<InviteResult> {
    return this.list.invite(roomId, username);
  }

  async acceptInvitation(roomId: string): Promise<void> {
    this.select((await this.list.acceptInvitation(roomId)).id);
  }

  declineInvitation(roomId: string): Promise<void> {
    return this.list.declineInvitation(roomId);
  }

  leaveRoom(roomId: string): Promise<void> {
    return this.session.leaveRoom(roomId);
  }

  async loadDirectory(): Promise<void> {
    this.store.set({ directory: await this.list.directory() });
  }

  // -- projection ---------------------------------------------------------------------------

  private update(): void {
    const wasLoaded = this.store.get().loaded;
    this.store.set(project(this.list.snapshot()));
    const { loaded, rooms, selectedId } = this.store.get();
    if (!loaded) return;
    if (!wasLoaded) this.selectInitial();
    else if (selectedId && !rooms.some((room) => room.id === selectedId)) this.select(rooms[0]?.id ?? null);
  }

  private selectInitial(): void {
    if (!this.selectRequested()) this.select(this.store.get().rooms[0]?.id ?? null);
  }

  private visible(): boolean {
    return document.visibilityState === "visible";
  }
}

function project(snapshot: RoomListSnapshot): Pick<RoomsState, "loaded" | "rooms" | "unread" | "invitations"> {
  return { loaded: snapshot.loaded, rooms: snapshot.rooms, unread: snapshot.unread, invitations: snapshot.invitations };
}

/** The sidebar's order: rooms first, then direct messages, each as the SDK sorts them. */
export function sidebarOrder(rooms: readonly MyRoom[]): MyRoom[] {
  return [...rooms.filter((room) => room.visibility !== "direct"), ...rooms.filter((room) => room.visibility === "direct")];
}

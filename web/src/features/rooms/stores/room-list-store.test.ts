// The room list's view model against fakes: invitations (nobody joins a room without
// accepting) and a case-insensitive room order, so look-alike names sit side by side.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { RoomListStore } from "@/features/rooms/stores/room-list-store";
import type { ApiClient } from "@/lib/api-client";
import type { ChatClient, ChatEvents } from "@/lib/chat-client";
import { RoomList } from "@/lib/room-list";
import type { ChatSession } from "@/lib/chat-session";
import { Emitter } from "@/lib/emitter";
import { ReadMarkers } from "@/lib/read-markers";
import type { Invitation, MyRoom } from "@/lib/types";

const ME = { id: "u-bob", username: "bob" };
const EVE = { id: "u-eve", username: "eve" };

function myRoom(id: string, name: string): MyRoom {
  return { id, name, visibility: "private", created_by: EVE.id, created_at: "2026-01-01T00:00:00+00:00", last_seq: 0, role: "member" };
}

function invitation(roomId: string, name: string): Invitation {
  return {
    room: { id: roomId, name, visibility: "private", created_by: EVE.id, created_at: "2026-01-01T00:00:00+00:00", owner: EVE, member_count: 1 },
    inviter: EVE,
    invitee: ME,
    created_at: "2026-01-01T00:00:01+00:00",
  };
}

function fakeSession(pending: Invitation[]) {
  const events = new Emitter<ChatEvents>();
  const calls: string[] = [];
  const session = {
    me: ME,
    api: {
      get: async (path: string) => {
        calls.push(`GET ${path}`);
        return { invitations: pending };
      },
      post: async (path: string) => {
        calls.push(`POST ${path}`);
        const roomId = decodeURIComponent(path.split("/")[3] ?? "");
        return { room: myRoom(roomId, pending.find((i) => i.room.id === roomId)?.room.name ?? "?") };
      },
    },
    client: { events, rooms: null, track: () => undefined, newestSeq: () => undefined },
  };
  const roomList = new RoomList(session.api as unknown as ApiClient, session.client as unknown as ChatClient, new ReadMarkers(ME.id), ME);
  return { session: { ...session, roomList } as unknown as ChatSession, events, calls };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

beforeEach(() => {
  const listeners = { addEventListener: () => undefined, removeEventListener: () => undefined };
  const storage = new Map<string, string>();
  vi.stubGlobal("window", { ...listeners, location: { hash: "", pathname: "/" }, history: { replaceState: () => undefined } });
  vi.stubGlobal("document", { ...listeners, visibilityState: "visible" });
  vi.stubGlobal("localStorage", { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => storage.set(k, v) });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("RoomListStore invitations", () => {
  it("lists pending invitations and does not make them rooms", async () => {
    const { session, calls } = fakeSession([invitation("r-ops", "OPS")]);
    const rooms = new RoomListStore(session);
    await flush();

    expect(calls).toContain("GET /api/invitations");
    expect(rooms.store.get().invitations.map((i) => i.room.id)).toEqual(["r-ops"]);
    expect(rooms.store.get().rooms).toEqual([]);
  });

  it("follows invitation:new and invitation:closed", async () => {
    const { session, events } = fakeSession([]);
    const rooms = new RoomListStore(session);
    await flush();

    events.emit("invitation:new", invitation("r-1", "one"));
    events.emit("invitation:new", invitation("r-1", "one")); // once per room
    events.emit("invitation:new", invitation("r-2", "two"));
    expect(rooms.store.get().invitations.map((i) => i.room.id)).toEqual(["r-1", "r-2"]);

    events.emit("invitation:closed", { room_id: "r-1", reason: "declined" });
    expect(rooms.store.get().invitations.map((i) => i.room.id)).toEqual(["r-2"]);
  });

  it("accepting joins and selects the room; declining drops the invitation", async () => {
    const { session, calls } = fakeSession([invitation("r-ops", "OPS"), invitation("r-x", "x")]);
    const rooms = new RoomListStore(session);
    await flush();

    await rooms.acceptInvitation("r-ops");
    await rooms.declineInvitation("r-x");

    expect(calls).toContain("POST /api/invitations/r-ops/accept");
    expect(calls).toContain("POST /api/invitations/r-x/decline");
    expect(rooms.store.get().invitations).toEqual([]);
    expect(rooms.store.get().rooms.map((room) => room.id)).toEqual(["r-ops"]);
    expect(rooms.store.get().selectedId).toBe("r-ops");
  });
});

describe("RoomListStore order", () => {
  it("sorts room names ignoring case", async () => {
    const { session, events } = fakeSession([]);
    const rooms = new RoomListStore(session);
    events.emit("rooms", [myRoom("1", "zeta"), myRoom("2", "OPS"), myRoom("3", "alpha"), myRoom("4", "ops")]);
    await flush();

    const names = rooms.store.get().rooms.map((room) => room.name);
    expect(names.map((name) => name.toLowerCase())).toEqual(["alpha", "ops", "ops", "zeta"]);
  });
});

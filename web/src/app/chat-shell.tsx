import { useEffect } from "react";

import { ConnectionBanner } from "@/features/connection/components/connection-banner";
import { useConnectionState } from "@/features/connection/hooks/use-connection-state";
import { RoomView } from "@/features/room/components/room-view";
import { RoomActions } from "@/features/rooms/components/room-actions";
import { RoomSidebar } from "@/features/rooms/components/room-sidebar";
import { RoomListStore } from "@/features/rooms/stores/room-list-store";
import { roomTitle } from "@/lib/room-list";
import { RoomViewStores } from "@/app/room-view-stores";
import type { Router } from "@/app/router";
import { useDisposable } from "@/hooks/use-disposable";
import { useStore } from "@/hooks/use-store";
import { useUnsentWarning } from "@/hooks/use-unsent-warning";
import type { ChatSession } from "@/lib/chat-session";
import "@/app/chat-shell.css";

/** The signed-in app: the room list on the left, the open room on the right. */
export function ChatShell({ session, router, onSignOut }: { session: ChatSession; router: Router; onSignOut: () => void }) {
  const rooms = useDisposable(
    () =>
      new RoomListStore(session, {
        requested: () => (router.route.name === "room" ? router.route.roomId : null),
        // The first choice replaces "/"; later ones are history entries (Back works).
        show: (roomId) => router.navigate(roomId ? { name: "room", roomId } : { name: "home" }, { replace: router.route.name !== "room" }),
      }),
    [session, router],
  );
  const { route } = useStore(router.store);
  useEffect(() => {
    if (route.name === "room") rooms?.selectRequested();
  }, [route, rooms]);
  const roomStores = useDisposable(() => new RoomViewStores(session), [session]);
  const connection = useConnectionState(session.client);
  useUnsentWarning(session.outbox);
  if (!rooms || !roomStores) return null;
  return (
    <div className="shell">
      <RoomSidebar rooms={rooms} me={session.me} onSignOut={onSignOut} />
      <main className="shell__main">
        <ConnectionBanner state={connection} />
        <OpenRoom session={session} rooms={rooms} roomStores={roomStores} />
      </main>
    </div>
  );
}

function OpenRoom({ session, rooms, roomStores }: { session: ChatSession; rooms: RoomListStore; roomStores: RoomViewStores }) {
  const state = useStore(rooms.store);
  useEffect(() => roomStores.keepOnly(new Set(state.rooms.map((room) => room.id))), [state.rooms, roomStores]);
  const room = state.rooms.find((candidate) => candidate.id === state.selectedId);
  const title = room ? roomTitle(room, session.me.username) : null;
  const unread = Object.values(state.unread).reduce((total, count) => total + count, 0);
  useEffect(() => {
    document.title = `${unread ? `(${unread}) ` : ""}${title ? `${title} · ` : ""}Sealchat`;
  }, [unread, title]);
  if (!state.loaded) return <div className="shell__empty">Loading your rooms…</div>;
  if (!room) {
    return (
      <div className="shell__empty">
        <h2>Welcome, {session.me.username}</h2>
        <p>Create a room, browse the public ones, or start a direct message from the sidebar.</p>
      </div>
    );
  }
  // Base64 grows the sealed text by a third; keep room for the envelope's other members.
  const maxTextBytes = Math.floor(((session.config.max_envelope_bytes - 2048) * 3) / 4);
  return (
    <RoomView
      key={room.id}
      room={roomStores.get(room.id)}
      title={title ?? room.name}
      visibility={room.visibility}
      myId={session.me.id}
      maxTextBytes={maxTextBytes}
      actions={<RoomActions room={room} rooms={rooms} me={session.me} />}
    />
  );
}

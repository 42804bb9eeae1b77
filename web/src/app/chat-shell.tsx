import { useEffect, useState } from "react";

import { ConnectionBanner } from "@/features/connection/components/connection-banner";
import { useConnectionState } from "@/features/connection/hooks/use-connection-state";
import { RoomView } from "@/features/room/components/room-view";
import { ArrowLeftIcon } from "@/components/icons";
import { QuickSwitcher } from "@/features/rooms/components/quick-switcher";
import { RoomActions } from "@/features/rooms/components/room-actions";
import { RoomSidebar } from "@/features/rooms/components/room-sidebar";
import { RoomListStore } from "@/features/rooms/stores/room-list-store";
import { TrustIndicator } from "@/features/trust/components/trust-indicator";
import { roomTitle } from "@/lib/room-list";
import { RoomViewStores } from "@/app/room-view-stores";
import type { Router } from "@/app/router";
import { useKeyboardShortcuts } from "@/app/keyboard-shortcuts";
import { useDisposable } from "@/hooks/use-disposable";
import { useStore } from "@/hooks/use-store";
import { useUnsentWarning } from "@/hooks/use-unsent-warning";
import type { ChatSession } from "@/lib/chat-session";
import { Store } from "@/lib/store";
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
  // Phone layout: the room list and the open room are two screens; Back shows the list.
  const [listShown, setListShown] = useState(false);
  const [switcherOpen, setSwitcherOpen] = useState(false);
  useKeyboardShortcuts({ onQuickSwitch: () => setSwitcherOpen(true), onAdjacentRoom: (step) => rooms?.selectAdjacent(step) });
  const selectedId = useStore<{ selectedId: string | null }>(rooms?.store ?? EMPTY).selectedId;
  useEffect(() => setListShown(false), [selectedId]);
  useEffect(() => {
    // Back to the list: focus lands on the room one came from.
    if (listShown) document.querySelector<HTMLElement>(".sidebar .room-item--selected, .sidebar button")?.focus();
  }, [listShown]);
  useUnsentWarning(session.outbox);
  if (!rooms || !roomStores) return null;
  const pane = listShown || !selectedId ? "list" : "room";
  return (
    <div className="shell" data-pane={pane}>
      <RoomSidebar
        rooms={rooms}
        me={session.me}
        onSignOut={onSignOut}
        onQuickSwitch={() => setSwitcherOpen(true)}
        onChosen={() => setListShown(false)}
        notice={<TrustIndicator config={session.config} />}
      />
      <main className="shell__main">
        <ConnectionBanner state={connection} />
        <OpenRoom session={session} rooms={rooms} roomStores={roomStores} onBack={() => setListShown(true)} />
      </main>
      {switcherOpen && (
        <QuickSwitcher
          rooms={rooms}
          me={session.me}
          onChosen={() => setListShown(false)}
          onClose={() => setSwitcherOpen(false)}
        />
      )}
    </div>
  );
}

const EMPTY = new Store({ selectedId: null as string | null });

function OpenRoom({ session, rooms, roomStores, onBack }: { session: ChatSession; rooms: RoomListStore; roomStores: RoomViewStores; onBack: () => void }) {
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
      navigation={
        <button type="button" className="icon-button shell__back" aria-label={unread ? `Back to rooms, ${unread} unread` : "Back to rooms"} title="Back to rooms" onClick={onBack}>
          <ArrowLeftIcon />
          {unread > 0 && (
            <span className="badge shell__back-badge" aria-hidden="true">
              {unread}
            </span>
          )}
        </button>
      }
    />
  );
}

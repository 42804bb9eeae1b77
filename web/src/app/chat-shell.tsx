import { useEffect, useState } from "react";

import { ConnectionBanner } from "@/features/connection/components/connection-banner";
import { useConnectionState } from "@/features/connection/hooks/use-connection-state";
import { RoomView } from "@/features/room/components/room-view";
import { ArrowLeftIcon, SearchIcon } from "@/components/icons";
import { SearchDialog } from "@/features/search/components/search-dialog";
import { SearchStore, type SearchRow } from "@/features/search/stores/search-store";
import { QuickSwitcher } from "@/features/rooms/components/quick-switcher";
import { RoomActions } from "@/features/rooms/components/room-actions";
import { RoomSidebar } from "@/features/rooms/components/room-sidebar";
import { RoomListStore } from "@/features/rooms/stores/room-list-store";
import { TrustIndicator } from "@/features/trust/components/trust-indicator";
import { roomApi } from "@/lib/room-api";
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
  // Search: from the open room ("room") or across all my rooms ("all").
  const [searchOpen, setSearchOpen] = useState<"room" | "all" | null>(null);
  const search = useDisposable(
    () =>
      new SearchStore({
        source: session.searchSource(),
        names: async (roomId) => new Map((await roomApi.members(session.api, roomId)).map((member) => [member.user.id, member.user.username])),
        roomTitle: (roomId) => {
          const room = session.roomList.snapshot().rooms.find((candidate) => candidate.id === roomId);
          return room ? roomTitle(room, session.me.username) : "a room";
        },
      }),
    [session],
  );
  useKeyboardShortcuts({ onQuickSwitch: () => setSwitcherOpen(true), onAdjacentRoom: (step) => rooms?.selectAdjacent(step) });
  const selectedId = useStore<{ selectedId: string | null }>(rooms?.store ?? EMPTY).selectedId;
  useEffect(() => setListShown(false), [selectedId]);
  useEffect(() => {
    // Back to the list: focus lands on the room one came from.
    if (listShown) document.querySelector<HTMLElement>(".sidebar .room-item--selected, .sidebar button")?.focus();
  }, [listShown]);
  useUnsentWarning(session.outbox);
  if (!rooms || !roomStores || !search) return null;
  const jump = (row: SearchRow) => {
    setSearchOpen(null);
    rooms.select(row.roomId);
    roomStores.get(row.roomId).requestJump(row.messageId, row.seq);
  };
  const pane = listShown || !selectedId ? "list" : "room";
  return (
    <div className="shell" data-pane={pane}>
      <RoomSidebar
        rooms={rooms}
        me={session.me}
        onSignOut={onSignOut}
        onQuickSwitch={() => setSwitcherOpen(true)}
        onSearch={() => setSearchOpen("all")}
        onChosen={() => setListShown(false)}
        notice={<TrustIndicator config={session.config} />}
      />
      <main className="shell__main">
        <ConnectionBanner state={connection} />
        <OpenRoom session={session} rooms={rooms} roomStores={roomStores} onBack={() => setListShown(true)} onSearch={() => setSearchOpen("room")} />
      </main>
      {searchOpen && <Search session={session} rooms={rooms} search={search} startAll={searchOpen === "all"} onJump={jump} onClose={() => setSearchOpen(null)} />}
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

function Search(props: { session: ChatSession; rooms: RoomListStore; search: SearchStore; startAll: boolean; onJump: (row: SearchRow) => void; onClose: () => void }) {
  const state = useStore(props.rooms.store);
  const open = state.rooms.find((room) => room.id === state.selectedId);
  const scope = {
    room: open ? { id: open.id, title: roomTitle(open, props.session.me.username) } : null,
    allRoomIds: state.rooms.map((room) => room.id),
  };
  return <SearchDialog search={props.search} scope={scope} startAll={props.startAll} onJump={props.onJump} onClose={props.onClose} />;
}

function OpenRoom({
  session,
  rooms,
  roomStores,
  onBack,
  onSearch,
}: {
  session: ChatSession;
  rooms: RoomListStore;
  roomStores: RoomViewStores;
  onBack: () => void;
  onSearch: () => void;
}) {
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
      actions={
        <>
          <button type="button" className="icon-button room-header__search" aria-label="Search this room" title="Search this room" onClick={onSearch}>
            <SearchIcon />
          </button>
          <RoomActions room={room} rooms={rooms} me={session.me} />
        </>
      }
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

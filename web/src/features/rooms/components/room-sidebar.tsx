import { useState, type ReactNode } from "react";

import { Avatar } from "@/components/avatar";
import { CompassIcon, LockIcon, LogOutIcon, SearchIcon } from "@/components/icons";
import { useStore } from "@/hooks/use-store";
import { CreateRoomDialog } from "@/features/rooms/components/create-room-dialog";
import { DirectoryDialog } from "@/features/rooms/components/directory-dialog";
import { InvitationList } from "@/features/rooms/components/invitation-list";
import { RoomListItem } from "@/features/rooms/components/room-list-item";
import { RoomSection } from "@/features/rooms/components/room-section";
import { StartDmDialog } from "@/features/rooms/components/start-dm-dialog";
import type { RoomListStore } from "@/features/rooms/stores/room-list-store";
import { roomTitle } from "@/lib/room-list";
import type { User } from "@/lib/types";
import "@/features/rooms/components/room-sidebar.css";

type Dialog = "create" | "dm" | "directory" | null;

interface Props {
  rooms: RoomListStore;
  me: User;
  onSignOut: () => void;
  /** Open the quick switcher (also Ctrl/Cmd+K). */
  onQuickSwitch: () => void;
  /** Search messages in all my rooms. */
  onSearch?: () => void;
  /** A room was chosen from the list (the phone layout then shows it). */
  onChosen: () => void;
  /** A line under the account (the trust indicator). */
  notice?: ReactNode;
}

export function RoomSidebar({ rooms, me, onSignOut, onQuickSwitch, onSearch, onChosen, notice }: Props) {
  const state = useStore(rooms.store);
  const [dialog, setDialog] = useState<Dialog>(null);
  const close = () => setDialog(null);
  const item = (room: (typeof state.rooms)[number]) => (
    <RoomListItem
      key={room.id}
      room={room}
      title={roomTitle(room, me.username)}
      unread={state.unread[room.id] ?? 0}
      selected={room.id === state.selectedId}
      onSelect={() => {
        rooms.select(room.id);
        onChosen();
      }}
    />
  );
  const channels = state.rooms.filter((room) => room.visibility !== "direct");
  const directs = state.rooms.filter((room) => room.visibility === "direct");

  return (
    <nav className="sidebar" aria-label="Rooms">
      <header className="sidebar__brand">
        <span className="sidebar__logo">
          <LockIcon />
        </span>
        <span className="sidebar__name">Sealchat</span>
      </header>
      <button type="button" className="sidebar__browse" onClick={onQuickSwitch} aria-keyshortcuts="Control+K Meta+K">
        <SearchIcon />
        Jump to…
        <kbd className="sidebar__kbd" aria-hidden="true">
          Ctrl K
        </kbd>
      </button>
      {onSearch && (
        <button type="button" className="sidebar__browse" onClick={onSearch}>
          <SearchIcon />
          Search messages
        </button>
      )}
      <button type="button" className="sidebar__browse" onClick={() => setDialog("directory")}>
        <CompassIcon />
        Browse rooms
      </button>
      <div className="sidebar__sections">
        <InvitationList rooms={rooms} invitations={state.invitations} />
        <RoomSection title="Rooms" addLabel="Create room" onAdd={() => setDialog("create")} empty="No rooms yet.">
          {channels.map(item)}
        </RoomSection>
        <RoomSection title="Direct messages" addLabel="Start direct message" onAdd={() => setDialog("dm")} empty="No conversations yet.">
          {directs.map(item)}
        </RoomSection>
      </div>
      {notice}
      <footer className="sidebar__me">
        <Avatar name={me.username} online />
        <span className="sidebar__username" title={me.username}>
          {me.username}
        </span>
        <button type="button" className="icon-button icon-button--sidebar" aria-label="Sign out" title="Sign out" onClick={onSignOut}>
          <LogOutIcon />
        </button>
      </footer>
      {dialog === "create" && <CreateRoomDialog onCreate={(name, visibility) => rooms.createRoom(name, visibility)} onClose={close} />}
      {dialog === "dm" && <StartDmDialog onStart={(username) => rooms.openDm(username)} onClose={close} />}
      {dialog === "directory" && <DirectoryDialog rooms={rooms} onClose={close} />}
    </nav>
  );
}

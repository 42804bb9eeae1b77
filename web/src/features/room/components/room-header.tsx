import type { ReactNode } from "react";

import { Avatar } from "@/components/avatar";
import { AtIcon, HashIcon, LockIcon, UsersIcon } from "@/components/icons";
import type { Member, Visibility } from "@/lib/types";

interface Props {
  title: string;
  visibility: Visibility;
  members: readonly Member[];
  myId: string;
  membersOpen: boolean;
  onToggleMembers: () => void;
  actions: ReactNode;
}

export function RoomHeader({ title, visibility, members, myId, membersOpen, onToggleMembers, actions }: Props) {
  const Icon = visibility === "direct" ? AtIcon : visibility === "private" ? LockIcon : HashIcon;
  const online = members.filter((member) => member.online || member.user.id === myId);
  // Names need not be unique: who owns the room and who is in it say which room this is.
  const owners = members.filter((member) => member.role === "owner").map((member) => member.user.username);
  const who =
    visibility === "direct"
      ? `${members.length} ${members.length === 1 ? "person" : "people"}`
      : `owner ${owners.join(", ") || "nobody"} · ${members.length} ${members.length === 1 ? "member" : "members"}`;
  return (
    <header className="room-header">
      <Icon className="icon room-header__icon" />
      <h1 className="room-header__title">{title}</h1>
      {members.length > 0 && (
        <span className="room-header__owner" data-testid="room-owner">
          {who}
        </span>
      )}
      <span
        className="seal-mark"
        title="Sealed: messages are encrypted in your browser with a data key from the key service; the chat server stores only ciphertext. Who else could read them depends on the key service's layout (see the sidebar)."
      >
        <LockIcon className="icon icon--tiny" />
        Sealed
      </span>
      <div className="room-header__spacer" />
      <button
        type="button"
        className="room-header__online"
        aria-label={`${online.length} of ${members.length} members online`}
        aria-pressed={membersOpen}
        title="Show members"
        onClick={onToggleMembers}
      >
        <span className="room-header__faces" aria-hidden="true">
          {online.slice(0, 3).map((member) => (
            <Avatar key={member.user.id} name={member.user.username} size="sm" />
          ))}
        </span>
        <UsersIcon className="icon icon--small" />
        <span aria-hidden="true">{online.length} online</span>
      </button>
      {actions}
    </header>
  );
}

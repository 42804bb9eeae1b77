import type { ReactNode } from "react";

import { Avatar } from "@/components/avatar";
import { AtIcon, HashIcon, LockIcon, UsersIcon } from "@/components/icons";
import type { Member, Visibility } from "@/lib/types";

interface Props {
  title: string;
  visibility: Visibility;
  members: Member[];
  myId: string;
  membersOpen: boolean;
  onToggleMembers: () => void;
  actions: ReactNode;
}

export function RoomHeader({ title, visibility, members, myId, membersOpen, onToggleMembers, actions }: Props) {
  const Icon = visibility === "direct" ? AtIcon : visibility === "private" ? LockIcon : HashIcon;
  const online = members.filter((member) => member.online || member.user.id === myId);
  return (
    <header className="room-header">
      <Icon className="icon room-header__icon" />
      <h1 className="room-header__title">{title}</h1>
      <span
        className="seal-mark"
        title="End-to-end sealed: messages are encrypted in your browser with a key from the key service. The chat server stores only ciphertext."
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

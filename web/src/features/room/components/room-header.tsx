import type { ReactNode } from "react";

import { Avatar } from "@/components/avatar";
import { AtIcon, HashIcon, LockIcon, UsersIcon } from "@/components/icons";
import { OverflowMenu } from "@/components/overflow-menu";
import type { Member, Visibility } from "@/lib/types";

interface Props {
  title: string;
  visibility: Visibility;
  members: readonly Member[];
  myId: string;
  membersOpen: boolean;
  onToggleMembers: () => void;
  actions: ReactNode;
  /** Before the title: the phone layout's way back to the room list. */
  navigation?: ReactNode;
  /** Phone layout: the actions behind one "More actions" button, the details left out. */
  compact?: boolean;
}

export function RoomHeader({ title, visibility, members, myId, membersOpen, onToggleMembers, actions, navigation, compact = false }: Props) {
  const Icon = visibility === "direct" ? AtIcon : visibility === "private" ? LockIcon : HashIcon;
  const online = members.filter((member) => member.online || member.user.id === myId);
  // Names need not be unique: who owns the room and who is in it say which room this is.
  const owners = members.filter((member) => member.role === "owner").map((member) => member.user.username);
  const who =
    visibility === "direct"
      ? `${members.length} ${members.length === 1 ? "person" : "people"}`
      : `owner ${owners.join(", ") || "nobody"} · ${members.length} ${members.length === 1 ? "member" : "members"}`;
  return (
    <header className={`room-header${compact ? " room-header--compact" : ""}`}>
      {navigation}
      <Icon className="icon room-header__icon" />
      <h1 className="room-header__title" title={title}>
        {title}
      </h1>
      {members.length > 0 && !compact && (
        <span className="room-header__owner" data-testid="room-owner">
          {who}
        </span>
      )}
      <span
        className={`seal-mark${compact ? " seal-mark--compact" : ""}`}
        title="Sealed: messages are encrypted in your browser with a data key from the key service; the chat server stores only ciphertext. Who else could read them depends on the key service's layout (see the sidebar)."
      >
        <LockIcon className="icon icon--tiny" />
        {compact ? <span className="visually-hidden">Sealed</span> : "Sealed"}
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
        {!compact && (
          <span className="room-header__faces" aria-hidden="true">
            {online.slice(0, 3).map((member) => (
              <Avatar key={member.user.id} name={member.user.username} size="sm" />
            ))}
          </span>
        )}
        <UsersIcon className="icon icon--small" />
        <span aria-hidden="true">{compact ? online.length : `${online.length} online`}</span>
      </button>
      {compact ? <OverflowMenu>{actions}</OverflowMenu> : actions}
    </header>
  );
}

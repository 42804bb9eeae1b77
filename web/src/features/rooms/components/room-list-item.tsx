import { AtIcon, HashIcon, LockIcon } from "@/components/icons";
import type { MyRoom } from "@/lib/types";

interface Props {
  room: MyRoom;
  title: string;
  unread: number;
  selected: boolean;
  onSelect: () => void;
}

export function RoomListItem({ room, title, unread, selected, onSelect }: Props) {
  const Icon = room.visibility === "direct" ? AtIcon : room.visibility === "private" ? LockIcon : HashIcon;
  const label = unread ? `${title}, ${unread} unread` : title;
  return (
    <li>
      <button
        type="button"
        className={`room-item${selected ? " room-item--selected" : ""}${unread ? " room-item--unread" : ""}`}
        aria-current={selected ? "page" : undefined}
        aria-label={label}
        onClick={onSelect}
      >
        <Icon className="icon room-item__icon" />
        <span className="room-item__name">{title}</span>
        {unread > 0 && (
          <span className="badge" data-testid="unread-badge">
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </button>
    </li>
  );
}

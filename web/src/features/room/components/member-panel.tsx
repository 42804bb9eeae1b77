import { useState } from "react";

import { Avatar } from "@/components/avatar";
import { CloseIcon } from "@/components/icons";
import { RemoveMemberDialog } from "@/features/room/components/remove-member-dialog";
import { seenLabel } from "@/features/room/components/seen";
import type { Member } from "@/lib/types";

interface Props {
  members: readonly Member[];
  myId: string;
  roomName: string;
  /** The seqs of the messages shown, oldest first, and whether older ones exist: "seen" per member. */
  shownSeqs?: readonly number[];
  hasOlder?: boolean;
  /** Set when I may remove others (an owner of a room that is not direct). */
  onRemove?: (userId: string) => Promise<void>;
}

/** Who is in the room, online first, and how far each has read; an owner can remove the others. */
export function MemberPanel({ members, myId, roomName, shownSeqs = [], hasOlder = false, onRemove }: Props) {
  const [removing, setRemoving] = useState<Member | null>(null);
  const sorted = [...members].sort((a, b) => Number(b.online || b.user.id === myId) - Number(a.online || a.user.id === myId) || a.user.username.localeCompare(b.user.username));
  const online = members.filter((member) => member.online || member.user.id === myId).length;
  return (
    <aside className="members" aria-label="Members">
      <h2 className="members__title">
        Members <span className="muted">· {online} online</span>
      </h2>
      <ul className="members__list">
        {sorted.map((member) => {
          const isOnline = member.online || member.user.id === myId;
          const seen = member.user.id === myId ? null : seenLabel(member.last_read_seq, shownSeqs, hasOlder);
          return (
            <li key={member.user.id} className="members__item">
              <Avatar name={member.user.username} size="sm" online={isOnline} />
              <span className="members__name">
                <span>{member.user.username}</span>
                {seen && <span className="members__seen">{seen}</span>}
              </span>
              {member.role === "owner" && <span className="members__role">owner</span>}
              <span className="visually-hidden">{isOnline ? "online" : "offline"}</span>
              {onRemove && member.user.id !== myId && (
                <button
                  type="button"
                  className="icon-button members__remove"
                  aria-label={`Remove ${member.user.username}`}
                  title={`Remove ${member.user.username} from the room`}
                  onClick={() => setRemoving(member)}
                >
                  <CloseIcon className="icon icon--small" />
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {removing && onRemove && (
        <RemoveMemberDialog
          username={removing.user.username}
          roomName={roomName}
          onRemove={() => onRemove(removing.user.id)}
          onClose={() => setRemoving(null)}
        />
      )}
    </aside>
  );
}

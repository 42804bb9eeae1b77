import { Avatar } from "@/components/avatar";
import type { Member } from "@/lib/types";

/** Who is in the room, online first. */
export function MemberPanel({ members, myId }: { members: readonly Member[]; myId: string }) {
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
          return (
            <li key={member.user.id} className="members__item">
              <Avatar name={member.user.username} size="sm" online={isOnline} />
              <span className="members__name">{member.user.username}</span>
              {member.role === "owner" && <span className="members__role">owner</span>}
              <span className="visually-hidden">{isOnline ? "online" : "offline"}</span>
            </li>
          );
        })}
      </ul>
    </aside>
  );
}

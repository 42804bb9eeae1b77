import { FormError } from "@/components/modal";
import { useAsyncAction } from "@/hooks/use-async-action";
import type { RoomListStore } from "@/features/rooms/stores/room-list-store";
import type { Invitation } from "@/lib/types";

/** Rooms I am invited to, with who asks and who is in them; I join only by accepting. */
export function InvitationList({ rooms, invitations }: { rooms: RoomListStore; invitations: readonly Invitation[] }) {
  const accept = useAsyncAction((roomId: string) => rooms.acceptInvitation(roomId));
  const decline = useAsyncAction((roomId: string) => rooms.declineInvitation(roomId));
  if (invitations.length === 0) return null;
  const busy = accept.busy || decline.busy;
  return (
    <section className="room-section invitations" aria-label="Invitations">
      <header className="room-section__header">
        <h2 className="room-section__title">Invitations</h2>
      </header>
      <FormError message={accept.error ?? decline.error} />
      <ul className="room-section__list">
        {invitations.map(({ room, inviter }) => {
          const owner = room.owner?.username ?? "nobody";
          const members = `${room.member_count} ${room.member_count === 1 ? "member" : "members"}`;
          return (
            <li key={room.id} className="invitation" aria-label={`Invitation to ${room.name}`}>
              <span className="invitation__name">{room.name}</span>
              <span className="invitation__detail">
                {room.visibility} room · owner {owner} · {members}
              </span>
              <span className="invitation__detail">invited by {inviter.username}</span>
              <span className="invitation__actions">
                <button type="button" className="button button--primary button--small" aria-label={`Accept invitation to ${room.name}`} disabled={busy} onClick={() => void accept.run(room.id)}>
                  Accept
                </button>
                <button type="button" className="button button--secondary button--small" aria-label={`Decline invitation to ${room.name}`} disabled={busy} onClick={() => void decline.run(room.id)}>
                  Decline
                </button>
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

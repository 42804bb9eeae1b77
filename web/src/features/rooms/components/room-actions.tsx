import { useState } from "react";

import { DoorIcon, UserPlusIcon } from "@/components/icons";
import { AddMemberDialog } from "@/features/rooms/components/add-member-dialog";
import { LeaveRoomDialog } from "@/features/rooms/components/leave-room-dialog";
import type { RoomListStore } from "@/features/rooms/stores/room-list-store";
import { roomTitle } from "@/lib/room-list";
import type { MyRoom, User } from "@/lib/types";

/** The header buttons that change membership: invite someone (owners), leave. */
export function RoomActions({ room, rooms, me }: { room: MyRoom; rooms: RoomListStore; me: User }) {
  const [dialog, setDialog] = useState<"add" | "leave" | null>(null);
  const close = () => setDialog(null);
  const title = roomTitle(room, me.username);
  const canAdd = room.role === "owner" && room.visibility !== "direct";
  return (
    <>
      {canAdd && (
        <button type="button" className="icon-button" aria-label="Invite member" title="Invite member" onClick={() => setDialog("add")}>
          <UserPlusIcon />
          <span className="icon-button__label">Invite member</span>
        </button>
      )}
      <button type="button" className="icon-button" aria-label="Leave room" title="Leave room" onClick={() => setDialog("leave")}>
        <DoorIcon />
        <span className="icon-button__label">Leave room</span>
      </button>
      {dialog === "add" && <AddMemberDialog roomName={title} onInvite={async (username) => (await rooms.invite(room.id, username)).status} onClose={close} />}
      {dialog === "leave" && (
        <LeaveRoomDialog roomName={title} isPrivate={room.visibility !== "public"} onLeave={() => rooms.leaveRoom(room.id)} onClose={close} />
      )}
    </>
  );
}

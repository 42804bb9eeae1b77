import { useEffect } from "react";

import { HashIcon } from "@/components/icons";
import { FormError, Modal } from "@/components/modal";
import { useAsyncAction } from "@/hooks/use-async-action";
import { useStore } from "@/hooks/use-store";
import type { RoomListStore } from "@/features/rooms/stores/room-list-store";

/** The public rooms: join one, or open one already joined. */
export function DirectoryDialog({ rooms, onClose }: { rooms: RoomListStore; onClose: () => void }) {
  const state = useStore(rooms.store);
  const load = useAsyncAction(() => rooms.loadDirectory());
  const join = useAsyncAction((roomId: string) => rooms.joinRoom(roomId), onClose);
  useEffect(() => {
    void load.run();
  }, []);
  const mine = new Set(state.rooms.map((room) => room.id));
  const open = (roomId: string) => {
    rooms.select(roomId);
    onClose();
  };
  return (
    <Modal title="Browse public rooms" onClose={onClose}>
      <FormError message={load.error ?? join.error} />
      {state.directory === null ? (
        <p className="muted">Loading…</p>
      ) : state.directory.length === 0 ? (
        <p className="muted">No public rooms yet. Create the first one.</p>
      ) : (
        <ul className="directory">
          {state.directory.map((room) => (
            <li key={room.id} className="directory__room">
              <HashIcon className="icon directory__icon" />
              <span className="directory__text">
                <span className="directory__name">{room.name}</span>
                <span className="muted small">
                  {room.member_count} {room.member_count === 1 ? "member" : "members"} · owner {room.owner?.username ?? "nobody"}
                </span>
              </span>
              {mine.has(room.id) ? (
                <button type="button" className="button button--secondary button--small" aria-label={`Open ${room.name}`} onClick={() => open(room.id)}>
                  Open
                </button>
              ) : (
                <button type="button" className="button button--primary button--small" aria-label={`Join ${room.name}`} disabled={join.busy} onClick={() => void join.run(room.id)}>
                  Join
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </Modal>
  );
}

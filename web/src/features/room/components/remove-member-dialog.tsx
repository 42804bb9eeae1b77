import { ConfirmDialog } from "@/components/confirm-dialog";

interface Props {
  username: string;
  roomName: string;
  onRemove: () => Promise<void>;
  onClose: () => void;
}

/** An owner confirms removing someone from the room. */
export function RemoveMemberDialog({ username, roomName, onRemove, onClose }: Props) {
  return (
    <ConfirmDialog title={`Remove ${username} from ${roomName}?`} confirm="Remove" onConfirm={onRemove} onClose={onClose}>
      They will no longer see new messages here, nor open the ones they could read before.
    </ConfirmDialog>
  );
}

import { ConfirmDialog } from "@/components/confirm-dialog";

interface Props {
  roomName: string;
  isPrivate: boolean;
  onLeave: () => Promise<void>;
  onClose: () => void;
}

export function LeaveRoomDialog({ roomName, isPrivate, onLeave, onClose }: Props) {
  return (
    <ConfirmDialog title={`Leave ${roomName}?`} confirm="Leave" onConfirm={onLeave} onClose={onClose}>
      {isPrivate
        ? "You will need someone to add you again to come back, and you will lose access to its messages."
        : "You can join again from the directory."}
    </ConfirmDialog>
  );
}

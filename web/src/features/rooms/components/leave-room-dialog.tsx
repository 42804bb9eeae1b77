import { FormError, Modal } from "@/components/modal";
import { useAsyncAction } from "@/hooks/use-async-action";

interface Props {
  roomName: string;
  isPrivate: boolean;
  onLeave: () => Promise<void>;
  onClose: () => void;
}

export function LeaveRoomDialog({ roomName, isPrivate, onLeave, onClose }: Props) {
  const { busy, error, run } = useAsyncAction(onLeave, onClose);
  return (
    <Modal title={`Leave ${roomName}?`} onClose={onClose}>
      <p className="muted">
        {isPrivate
          ? "You will need someone to add you again to come back, and you will lose access to its messages."
          : "You can join again from the directory."}
      </p>
      <FormError message={error} />
      <div className="form-actions">
        <button type="button" className="button button--secondary" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="button button--danger" disabled={busy} onClick={() => void run()}>
          Leave
        </button>
      </div>
    </Modal>
  );
}

import { FormError, Modal } from "@/components/modal";
import { useAsyncAction } from "@/hooks/use-async-action";

interface Props {
  username: string;
  roomName: string;
  onRemove: () => Promise<void>;
  onClose: () => void;
}

/** An owner confirms removing someone from the room. */
export function RemoveMemberDialog({ username, roomName, onRemove, onClose }: Props) {
  const { busy, error, run } = useAsyncAction(onRemove, onClose);
  return (
    <Modal title={`Remove ${username} from ${roomName}?`} onClose={onClose}>
      <p className="muted">They will no longer see new messages here, nor open the ones they could read before.</p>
      <FormError message={error} />
      <div className="form-actions">
        <button type="button" className="button button--secondary" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="button button--danger" disabled={busy} onClick={() => void run()}>
          Remove
        </button>
      </div>
    </Modal>
  );
}

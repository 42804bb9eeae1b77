import { FormError, Modal } from "@/components/modal";
import { useAsyncAction } from "@/hooks/use-async-action";

interface Props {
  mine: boolean;
  senderName: string;
  onDelete: () => Promise<void>;
  onClose: () => void;
}

/** Confirm a delete: it erases the message (and its edits and reactions) for good. */
export function DeleteMessageDialog({ mine, senderName, onDelete, onClose }: Props) {
  const { busy, error, run } = useAsyncAction(onDelete, onClose);
  return (
    <Modal title="Delete message?" onClose={onClose}>
      <p className="muted">
        {mine ? "Your message" : `${senderName}'s message`} is erased from the server for good, with its edits and reactions. Everyone sees “message deleted”.
      </p>
      <FormError message={error} />
      <div className="form-actions">
        <button type="button" className="button button--secondary" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="button button--danger" disabled={busy} onClick={() => void run()}>
          Delete
        </button>
      </div>
    </Modal>
  );
}

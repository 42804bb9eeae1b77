import type { ReactNode } from "react";

import { FormError, Modal } from "@/components/modal";
import { useAsyncAction } from "@/hooks/use-async-action";

interface Props {
  title: string;
  /** What confirming does, in a sentence or two. */
  children: ReactNode;
  /** The confirming button's label (a verb: Delete, Remove, Leave). */
  confirm: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

/** Ask before something that cannot be taken back; errors stay in the dialog. */
export function ConfirmDialog({ title, children, confirm, onConfirm, onClose }: Props) {
  const { busy, error, run } = useAsyncAction(onConfirm, onClose);
  return (
    <Modal title={title} onClose={onClose}>
      <p className="muted">{children}</p>
      <FormError message={error} />
      <div className="form-actions">
        <button type="button" className="button button--secondary" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="button button--danger" disabled={busy} onClick={() => void run()}>
          {confirm}
        </button>
      </div>
    </Modal>
  );
}

import { useState, type FormEvent } from "react";

import { FormError, Modal } from "@/components/modal";
import { useAsyncAction } from "@/hooks/use-async-action";

interface Props {
  roomName: string;
  onAdd: (username: string) => Promise<void>;
  onClose: () => void;
}

export function AddMemberDialog({ roomName, onAdd, onClose }: Props) {
  const [username, setUsername] = useState("");
  const { busy, error, run } = useAsyncAction(onAdd, onClose);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(username.trim());
  };
  return (
    <Modal title={`Add someone to ${roomName}`} onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <label className="field">
          <span className="field__label">Username</span>
          <input className="field__input" required autoFocus autoCapitalize="none" spellCheck={false} value={username} onChange={(event) => setUsername(event.target.value)} />
        </label>
        <p className="muted small">They will be able to read the room's whole history.</p>
        <FormError message={error} />
        <div className="form-actions">
          <button type="button" className="button button--secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button--primary" disabled={busy}>
            Add member
          </button>
        </div>
      </form>
    </Modal>
  );
}

import { useState, type FormEvent } from "react";

import { FormError, Modal } from "@/components/modal";
import { useAsyncAction } from "@/hooks/use-async-action";

export function StartDmDialog({ onStart, onClose }: { onStart: (username: string) => Promise<void>; onClose: () => void }) {
  const [username, setUsername] = useState("");
  const { busy, error, run } = useAsyncAction(onStart, onClose);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(username.trim());
  };
  return (
    <Modal title="Start a direct message" onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <label className="field">
          <span className="field__label">Username</span>
          <input className="field__input" required autoFocus autoCapitalize="none" spellCheck={false} value={username} onChange={(event) => setUsername(event.target.value)} />
        </label>
        <FormError message={error} />
        <div className="form-actions">
          <button type="button" className="button button--secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button--primary" disabled={busy}>
            Start conversation
          </button>
        </div>
      </form>
    </Modal>
  );
}

import { useState, type FormEvent } from "react";

import { FormError, Modal } from "@/components/modal";
import { useAsyncAction } from "@/hooks/use-async-action";
import type { InviteResult } from "@/lib/types";

interface Props {
  roomName: string;
  onInvite: (username: string) => Promise<InviteResult["status"]>;
  onClose: () => void;
}

const OUTCOME: Record<InviteResult["status"], string> = {
  invited: "Invitation sent. They join the room when they accept it.",
  already_invited: "They are already invited; they join the room when they accept.",
  already_member: "They are already a member of this room.",
};

/** Adding someone asks for their consent: this sends an invitation they accept or decline. */
export function AddMemberDialog({ roomName, onInvite, onClose }: Props) {
  const [username, setUsername] = useState("");
  const [outcome, setOutcome] = useState<string | null>(null);
  const { busy, error, run } = useAsyncAction(async (name: string) => {
    setOutcome(OUTCOME[await onInvite(name)]);
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setOutcome(null);
    void run(username.trim());
  };
  return (
    <Modal title={`Invite someone to ${roomName}`} onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <label className="field">
          <span className="field__label">Username</span>
          <input className="field__input" required autoFocus autoCapitalize="none" spellCheck={false} value={username} onChange={(event) => setUsername(event.target.value)} />
        </label>
        <p className="muted small">Once they accept, they will be able to read the room's whole history.</p>
        <FormError message={error} />
        {outcome && (
          <p className="small" role="status">
            {outcome}
          </p>
        )}
        <div className="form-actions">
          <button type="button" className="button button--secondary" onClick={onClose}>
            {outcome ? "Done" : "Cancel"}
          </button>
          <button type="submit" className="button button--primary" disabled={busy}>
            Send invitation
          </button>
        </div>
      </form>
    </Modal>
  );
}

import { useState, type FormEvent } from "react";

import { FormError, Modal } from "@/components/modal";
import { useAsyncAction } from "@/hooks/use-async-action";

type Visibility = "public" | "private";

interface Props {
  onCreate: (name: string, visibility: Visibility) => Promise<void>;
  onClose: () => void;
}

export function CreateRoomDialog({ onCreate, onClose }: Props) {
  const [name, setName] = useState("");
  const [visibility, setVisibility] = useState<Visibility>("public");
  const { busy, error, run } = useAsyncAction(onCreate, onClose);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(name, visibility);
  };
  return (
    <Modal title="Create a room" onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <label className="field">
          <span className="field__label">Room name</span>
          <input className="field__input" required maxLength={80} autoFocus value={name} onChange={(event) => setName(event.target.value)} />
        </label>
        <fieldset className="choice-group">
          <legend className="field__label">Who can join</legend>
          <label className="choice">
            <input type="radio" name="visibility" value="public" checked={visibility === "public"} onChange={() => setVisibility("public")} />
            <span>
              <strong>Public</strong>
              <small>Listed in the directory; anyone can join.</small>
            </span>
          </label>
          <label className="choice">
            <input type="radio" name="visibility" value="private" checked={visibility === "private"} onChange={() => setVisibility("private")} />
            <span>
              <strong>Private</strong>
              <small>Invisible to others; only people you add.</small>
            </span>
          </label>
        </fieldset>
        <FormError message={error} />
        <div className="form-actions">
          <button type="button" className="button button--secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button--primary" disabled={busy}>
            Create room
          </button>
        </div>
      </form>
    </Modal>
  );
}

import { useState, type FormEvent, type KeyboardEvent } from "react";

import { LockIcon, SendIcon } from "@/components/icons";

interface Props {
  placeholder: string;
  /** Longest text that still fits the server's envelope limit once sealed. */
  maxBytes: number;
  onSend: (text: string) => void;
  onTyping: (active: boolean) => void;
  /** Put the cursor here when shown (after sign-in, on opening a room). */
  autoFocus?: boolean;
}

const encoder = new TextEncoder();

/** The message box: Enter sends, Shift+Enter starts a new line. */
export function Composer({ placeholder, maxBytes, onSend, onTyping, autoFocus = false }: Props) {
  const [text, setText] = useState("");
  const tooLong = encoder.encode(text).length > maxBytes;
  const blank = text.trim() === "";

  const send = () => {
    if (blank || tooLong) return;
    onSend(text);
    setText("");
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    send();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  };

  return (
    <form className="composer" onSubmit={submit}>
      <div className={`composer__box${tooLong ? " composer__box--invalid" : ""}`}>
        <textarea
          className="composer__input"
          aria-label="Message"
          placeholder={placeholder}
          rows={1}
          autoFocus={autoFocus}
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            onTyping(event.target.value.trim() !== "");
          }}
          onKeyDown={onKeyDown}
          onBlur={() => onTyping(false)}
        />
        <button type="submit" className="composer__send" aria-label="Send" title="Send" disabled={blank || tooLong}>
          <SendIcon />
        </button>
      </div>
      <p className="composer__hint">
        {tooLong ? (
          <span className="composer__error" role="alert">
            This message is too long to send.
          </span>
        ) : (
          <>
            <LockIcon className="icon icon--tiny" /> Sealed in your browser before it is sent · <kbd>Enter</kbd> to send, <kbd>Shift</kbd>+<kbd>Enter</kbd> for a new line
          </>
        )}
      </p>
    </form>
  );
}

import { useEffect, useRef, useState, type ClipboardEvent, type FormEvent, type KeyboardEvent } from "react";

import { CloseIcon, LockIcon, PaperclipIcon, SendIcon } from "@/components/icons";

/** What the composer is doing besides writing a new message. */
export type ComposerMode =
  | { kind: "reply"; messageId: string; senderName: string; text: string }
  | { kind: "edit"; messageId: string; text: string }
  | null;

interface Props {
  placeholder: string;
  /** Longest text that still fits the server's envelope limit once sealed. */
  maxBytes: number;
  mode: ComposerMode;
  onSend: (text: string) => void;
  onTyping: (active: boolean) => void;
  onCancelMode: () => void;
  /** Up in an empty composer: edit my last message. */
  onEditLast: () => void;
  /** Put the cursor here when shown (after sign-in, on opening a room). */
  autoFocus?: boolean;
  /** Files chosen with the attach button or pasted: each is sealed, uploaded and sent. */
  onAttach?: (files: File[]) => void;
}

const encoder = new TextEncoder();

const hasModifier = (event: KeyboardEvent) => event.altKey || event.ctrlKey || event.metaKey || event.shiftKey;

/** The message box: Enter sends, Shift+Enter starts a new line; it also replies and edits. */
export function Composer({ placeholder, maxBytes, mode, onSend, onTyping, onCancelMode, onEditLast, autoFocus = false, onAttach }: Props) {
  const [text, setText] = useState("");
  const input = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const tooLong = encoder.encode(text).length > maxBytes;
  const blank = text.trim() === "";
  const editing = mode?.kind === "edit";

  // Entering a mode puts the cursor in the box (an edit starts from the current text).
  const modeKey = mode ? `${mode.kind}/${mode.messageId}` : "";
  useEffect(() => {
    if (!mode) return;
    if (mode.kind === "edit") setText(mode.text);
    input.current?.focus();
  }, [modeKey]); // once per mode entered

  const send = () => {
    if (blank || tooLong) return;
    onSend(text);
    setText("");
  };
  const cancel = () => {
    if (editing) setText("");
    onCancelMode();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    send();
  };
  // A pasted file (a screenshot, a copied file) is attached; pasted text stays text.
  const onPaste = (event: ClipboardEvent<HTMLTextAreaElement>) => {
    const files = [...event.clipboardData.files];
    if (!onAttach || files.length === 0) return;
    event.preventDefault();
    onAttach(files);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.nativeEvent.isComposing) return;
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      send();
    } else if (event.key === "Escape" && mode) {
      event.preventDefault();
      cancel();
    } else if (event.key === "ArrowUp" && !hasModifier(event) && text === "" && !mode) {
      // Plain Up only: Alt+Up is the previous room (app/keyboard-shortcuts.ts).
      event.preventDefault();
      onEditLast();
    }
  };

  return (
    <form className="composer" onSubmit={submit}>
      {mode && (
        <div className="composer__mode" data-testid="composer-mode">
          <span className="composer__mode-text">
            {mode.kind === "reply" ? (
              <>
                Replying to <strong>{mode.senderName}</strong>: {mode.text}
              </>
            ) : (
              "Editing your message"
            )}
          </span>
          <button type="button" className="icon-button composer__mode-cancel" aria-label={mode.kind === "reply" ? "Cancel reply" : "Cancel edit"} onClick={cancel}>
            <CloseIcon className="icon icon--small" />
          </button>
        </div>
      )}
      <div className={`composer__box${tooLong ? " composer__box--invalid" : ""}`}>
        {onAttach && !editing && (
          <>
            <button type="button" className="composer__attach" aria-label="Attach files" title="Attach files (or drop them here, or paste)" onClick={() => picker.current?.click()}>
              <PaperclipIcon />
            </button>
            <input
              ref={picker}
              type="file"
              multiple
              hidden
              aria-label="Files to attach"
              data-testid="attach-input"
              onChange={(event) => {
                const files = [...(event.target.files ?? [])];
                event.target.value = ""; // the same file may be chosen again
                if (files.length) onAttach(files);
              }}
            />
          </>
        )}
        <textarea
          ref={input}
          className="composer__input"
          aria-label="Message"
          placeholder={placeholder}
          rows={1}
          autoFocus={autoFocus}
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            if (!editing) onTyping(event.target.value.trim() !== "");
          }}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
          onBlur={() => onTyping(false)}
        />
        <button type="submit" className="composer__send" aria-label={editing ? "Save edit" : "Send"} title={editing ? "Save edit" : "Send"} disabled={blank || tooLong}>
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
            <LockIcon className="icon icon--tiny" /> Sealed in your browser before it is sent · <kbd>Enter</kbd> to send, <kbd>Shift</kbd>+<kbd>Enter</kbd> for a new line,{" "}
            <kbd>↑</kbd> to edit your last message
          </>
        )}
      </p>
    </form>
  );
}

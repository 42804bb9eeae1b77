import { useEffect, useId, useRef, type KeyboardEvent, type ReactNode } from "react";

import { CloseIcon } from "@/components/icons";
import "@/components/modal.css";

const FIELDS = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";
const FOCUSABLE = `${FIELDS}, button:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])`;

/**
 * A modal dialog (native <dialog>: the page behind is inert, Escape closes). Focus starts in
 * the first field (else the first control of the body, else Close), Tab and Shift+Tab stay
 * inside, and focus goes back to whatever opened the dialog when it closes.
 */
export function Modal({ title, onClose, children, className }: { title: string; onClose: () => void; children: ReactNode; className?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (dialog && !dialog.open) dialog.showModal();
    const body = dialog?.querySelector(".modal__body");
    const first = body?.querySelector<HTMLElement>(FIELDS) ?? body?.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
    return () => {
      dialog?.close();
      // The opener may have gone (a menu closed meanwhile): then focus stays where the page puts it.
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  const trapTab = (event: KeyboardEvent<HTMLDialogElement>) => {
    if (event.key !== "Tab" || !ref.current) return;
    const focusable = [...ref.current.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((element) => element.offsetParent !== null);
    const [first, last] = [focusable[0], focusable[focusable.length - 1]];
    if (!first || !last) return;
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };
  return (
    <dialog
      ref={ref}
      className={`modal${className ? ` ${className}` : ""}`}
      aria-labelledby={titleId}
      onClose={onClose}
      onCancel={(event) => {
        event.preventDefault(); // React unmounts the dialog; its cleanup closes it and restores focus
        onClose();
      }}
      onKeyDown={trapTab}
    >
      <header className="modal__header">
        <h2 id={titleId} className="modal__title">
          {title}
        </h2>
        <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
          <CloseIcon />
        </button>
      </header>
      <div className="modal__body">{children}</div>
    </dialog>
  );
}

/** An inline error under a form, announced to screen readers. */
export function FormError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p className="form-error" role="alert">
      {message}
    </p>
  );
}

import { AlertIcon } from "@/components/icons";
import { FileMessage } from "@/features/room/components/file-message";
import { FormattedText } from "@/features/room/components/formatted-text";
import { explainReason } from "@/features/room/stores/message-view";
import { isTransient } from "@/lib/room";
import type { MessageBody as Body } from "@/lib/room-timeline";

/** The message's content: formatted text rendered as React elements (never as HTML). */
export function MessageBody({ body, edited = false, onReopen }: { body: Body; edited?: boolean; onReopen: () => void }) {
  switch (body.kind) {
    case "text":
      return <FormattedText text={body.text} suffix={edited && <span className="message__edited"> (edited)</span>} />;
    case "file":
      return <FileMessage file={body.file} />;
    case "deleted":
      return <p className="message__text message__text--muted message__deleted">message deleted</p>;
    case "opening":
      return <p className="message__text message__text--muted">Decrypting…</p>;
    case "unsupported":
      return <p className="message__text message__text--muted">This message needs a newer version of Sealchat.</p>;
    case "undecryptable":
      return (
        <p className="message__text message__undecryptable" title={body.detail}>
          <AlertIcon className="icon icon--inline" />
          <strong>Unable to decrypt</strong>
          <span>
            {" "}
            — {explainReason(body.reason)} <code className="message__reason">{body.reason}</code>
          </span>
          {isTransient(body.reason) && (
            <button type="button" className="link-button" onClick={onReopen}>
              Try again
            </button>
          )}
        </p>
      );
  }
}

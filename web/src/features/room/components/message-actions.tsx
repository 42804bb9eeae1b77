import type { MessageView } from "@/features/room/stores/message-view";

export interface MessageActionHandlers {
  onReply: (item: MessageView) => void;
  onReact: (item: MessageView) => void;
  onEdit: (item: MessageView) => void;
  onDelete: (item: MessageView) => void;
}

/** The toolbar a stored message shows on hover or focus: reply, react, edit, delete. */
export function MessageActions({ item, handlers }: { item: MessageView; handlers: MessageActionHandlers }) {
  if (item.messageId === null || item.body.kind === "deleted") return null;
  return (
    <div className="message-actions" role="toolbar" aria-label={`Actions for the message from ${item.senderName}`}>
      <button type="button" className="message-actions__button" aria-label="Reply" title="Reply" onClick={() => handlers.onReply(item)}>
        ↩
      </button>
      <button type="button" className="message-actions__button" aria-label="Add reaction" title="Add reaction" onClick={() => handlers.onReact(item)}>
        ☺
      </button>
      {item.canEdit && (
        <button type="button" className="message-actions__button" aria-label="Edit" title="Edit" onClick={() => handlers.onEdit(item)}>
          ✎
        </button>
      )}
      {item.canDelete && (
        <button type="button" className="message-actions__button" aria-label="Delete" title="Delete" onClick={() => handlers.onDelete(item)}>
          🗑
        </button>
      )}
    </div>
  );
}

import { memo } from "react";

import { Avatar } from "@/components/avatar";
import { DeliveryStatus } from "@/features/room/components/delivery-status";
import { MessageActions, type MessageActionHandlers } from "@/features/room/components/message-actions";
import { MessageBody } from "@/features/room/components/message-body";
import { ReactionPicker } from "@/features/room/components/reaction-picker";
import type { MessageView } from "@/features/room/stores/message-view";
import { formatFull, formatTime } from "@/lib/format-time";

export interface MessageItemHandlers extends MessageActionHandlers {
  onRetry: (clientMsgId: string) => void;
  onReopen: (messageId: string) => void;
  onJump: (messageId: string) => void;
  onToggleReaction: (messageId: string, key: string) => void;
  onClosePicker: () => void;
}

interface Props {
  item: MessageView;
  /** First of a run by the same sender: shows the avatar and name. */
  leading: boolean;
  /** The reaction picker is open on this message. */
  picking: boolean;
  usedReactions: readonly string[];
  handlers: MessageItemHandlers;
}

export const MessageItem = memo(function MessageItem({ item, leading, picking, usedReactions, handlers }: Props) {
  const time = (
    <time className="message__time" dateTime={item.time} title={formatFull(item.time)}>
      {formatTime(item.time)}
    </time>
  );
  return (
    <li
      className={`message${leading || item.replyTo ? " message--leading" : ""}${item.mine ? " message--mine" : ""}`}
      data-seq={item.seq ?? undefined}
      id={item.messageId ? `message-${item.messageId}` : undefined}
      tabIndex={-1}
    >
      <div className="message__gutter">{leading || item.replyTo ? <Avatar name={item.senderName} /> : time}</div>
      <div className="message__main">
        {(leading || item.replyTo) && (
          <div className="message__meta">
            <span className="message__sender">{item.senderName}</span>
            {time}
          </div>
        )}
        {item.replyTo && (
          <button type="button" className="message__quote" onClick={() => handlers.onJump(item.replyTo!.messageId)}>
            <span className="visually-hidden">In reply to </span>
            {item.replyTo.senderName && <strong>{item.replyTo.senderName}: </strong>}
            <span className="message__quote-text">{item.replyTo.text}</span>
          </button>
        )}
        <MessageBody body={item.body} edited={item.edited} onReopen={() => item.messageId !== null && handlers.onReopen(item.messageId)} />
        {item.reactions.length > 0 && (
          <div className="reactions" role="group" aria-label="Reactions">
            {item.reactions.map((chip) => (
              <button
                key={chip.key}
                type="button"
                className={`reaction-chip${chip.mine ? " reaction-chip--mine" : ""}`}
                aria-pressed={chip.mine}
                aria-label={`${chip.key} ${chip.count}: ${chip.names.join(", ")}`}
                title={chip.names.join(", ")}
                onClick={() => item.messageId && handlers.onToggleReaction(item.messageId, chip.key)}
              >
                <span aria-hidden="true">{chip.key}</span>
                <span className="reaction-chip__count" aria-hidden="true">
                  {chip.count}
                </span>
              </button>
            ))}
          </div>
        )}
        {picking && item.messageId && (
          <ReactionPicker
            used={usedReactions}
            onPick={(key) => {
              handlers.onToggleReaction(item.messageId!, key);
              handlers.onClosePicker();
            }}
            onClose={handlers.onClosePicker}
          />
        )}
      </div>
      <MessageActions item={item} handlers={handlers} />
      {item.delivery && <DeliveryStatus delivery={item.delivery} error={item.sendError} onRetry={() => handlers.onRetry(item.clientMsgId)} />}
    </li>
  );
});

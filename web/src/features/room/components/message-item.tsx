import { memo } from "react";

import { Avatar } from "@/components/avatar";
import { DeliveryStatus } from "@/features/room/components/delivery-status";
import { MessageBody } from "@/features/room/components/message-body";
import type { MessageView } from "@/features/room/stores/message-view";
import { formatFull, formatTime } from "@/lib/format-time";

interface Props {
  item: MessageView;
  /** First of a run by the same sender: shows the avatar and name. */
  leading: boolean;
  onRetry: (clientMsgId: string) => void;
  onReopen: (messageId: string) => void;
}

export const MessageItem = memo(function MessageItem({ item, leading, onRetry, onReopen }: Props) {
  const time = (
    <time className="message__time" dateTime={item.time} title={formatFull(item.time)}>
      {formatTime(item.time)}
    </time>
  );
  return (
    <li className={`message${leading ? " message--leading" : ""}${item.mine ? " message--mine" : ""}`} data-seq={item.seq ?? undefined}>
      <div className="message__gutter">{leading ? <Avatar name={item.senderName} /> : time}</div>
      <div className="message__main">
        {leading && (
          <div className="message__meta">
            <span className="message__sender">{item.senderName}</span>
            {time}
          </div>
        )}
        <MessageBody body={item.body} onReopen={() => item.messageId !== null && onReopen(item.messageId)} />
      </div>
      {item.delivery && <DeliveryStatus delivery={item.delivery} error={item.sendError} onRetry={() => onRetry(item.clientMsgId)} />}
    </li>
  );
});

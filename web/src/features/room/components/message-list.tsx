import { Fragment, useEffect, useLayoutEffect, useRef } from "react";

import { MessageItem, type MessageItemHandlers } from "@/features/room/components/message-item";
import { UploadItem } from "@/features/room/components/upload-item";
import type { MessageView } from "@/features/room/stores/message-view";
import type { UploadView } from "@/features/room/stores/uploads";
import { dayKey, formatDay } from "@/lib/format-time";

const GROUP_MS = 5 * 60 * 1000;
const NEAR_TOP_PX = 150;
const NEAR_BOTTOM_PX = 60;

interface Props {
  label: string;
  items: readonly MessageView[];
  hasOlder: boolean;
  loadingOlder: boolean;
  /** "New messages" start after this seq (others' messages only). */
  readSeq: number | null;
  pickingId: string | null;
  usedReactions: readonly string[];
  onLoadOlder: () => void;
  /** The reader sees the bottom of the room (and the page is visible). */
  onRead: () => void;
  handlers: MessageItemHandlers;
  /** Files on their way, after the messages (where theirs will be). */
  uploads?: readonly UploadView[];
  onCancelUpload?: (id: string) => void;
  onDismissUpload?: (id: string) => void;
}

const NO_UPLOADS: readonly UploadView[] = [];

/**
 * The timeline, oldest at the top. Stays pinned to the bottom while the reader is there,
 * keeps its place when older pages arrive above, and asks for them near the top.
 */
export function MessageList({
  label,
  items,
  hasOlder,
  loadingOlder,
  readSeq,
  pickingId,
  usedReactions,
  onLoadOlder,
  onRead,
  handlers,
  uploads = NO_UPLOADS,
  onCancelUpload = noop,
  onDismissUpload = noop,
}: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const before = useRef<{ firstKey: string | null; lastKey: string | null; height: number; uploads: number }>({ firstKey: null, lastKey: null, height: 0, uploads: 0 });

  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    const previous = before.current;
    const firstKey = items[0]?.key ?? null;
    const last = items.at(-1);
    const prepended = previous.firstKey !== null && firstKey !== previous.firstKey && items.some((item) => item.key === previous.firstKey);
    const mineJustAdded = (last !== undefined && last.key !== previous.lastKey && last.mine && last.delivery !== "sent") || uploads.length > previous.uploads;
    if (prepended && !atBottom.current) element.scrollTop += element.scrollHeight - previous.height;
    else if (atBottom.current || mineJustAdded) element.scrollTop = element.scrollHeight;
    before.current = { firstKey, lastKey: last?.key ?? null, height: element.scrollHeight, uploads: uploads.length };
    // Not enough to scroll yet: fetch more so the reader can.
    if (hasOlder && !loadingOlder && element.scrollHeight <= element.clientHeight + NEAR_TOP_PX) onLoadOlder();
  }, [items, uploads, hasOlder, loadingOlder, onLoadOlder]);

  // Read what is seen: at the bottom, with the page visible (now, and when it shows again).
  useEffect(() => {
    const readIfSeen = () => {
      if (atBottom.current && document.visibilityState === "visible") onRead();
    };
    readIfSeen();
    document.addEventListener("visibilitychange", readIfSeen);
    return () => document.removeEventListener("visibilitychange", readIfSeen);
  }, [items, onRead]);

  const onScroll = () => {
    const element = ref.current;
    if (!element) return;
    const wasAtBottom = atBottom.current;
    atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_BOTTOM_PX;
    before.current.height = element.scrollHeight;
    if (atBottom.current && !wasAtBottom && document.visibilityState === "visible") onRead();
    if (element.scrollTop < NEAR_TOP_PX && hasOlder && !loadingOlder) onLoadOlder();
  };

  const firstNew = readSeq === null ? -1 : items.findIndex((item) => item.seq !== null && item.seq > readSeq && !item.mine);

  return (
    <div ref={ref} className="timeline" role="log" aria-label={label} aria-live="polite" tabIndex={0} onScroll={onScroll}>
      <div className="timeline__start">
        {loadingOlder ? "Loading older messages…" : hasOlder ? "" : items.length ? "This is the beginning of the room." : "No messages yet. Say hello!"}
      </div>
      <ol className="timeline__list">
        {items.map((item, index) => {
          const previous = items[index - 1];
          const newDay = !previous || dayKey(previous.time) !== dayKey(item.time);
          const leading =
            newDay || !previous || previous.senderId !== item.senderId || Date.parse(item.time) - Date.parse(previous.time) > GROUP_MS;
          return (
            <Fragment key={item.key}>
              {newDay && (
                <li className="day-divider">
                  <span>{formatDay(item.time)}</span>
                </li>
              )}
              {index === firstNew && (
                <li className="new-divider" data-testid="new-messages">
                  <span>New messages</span>
                </li>
              )}
              <MessageItem
                item={item}
                leading={leading || index === firstNew}
                picking={item.messageId !== null && item.messageId === pickingId}
                usedReactions={usedReactions}
                handlers={handlers}
              />
            </Fragment>
          );
        })}
        {uploads.map((upload) => (
          <UploadItem key={upload.id} upload={upload} onCancel={onCancelUpload} onDismiss={onDismissUpload} />
        ))}
      </ol>
    </div>
  );
}

function noop(): void {}

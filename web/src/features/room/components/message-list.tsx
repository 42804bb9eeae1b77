import { Fragment, useLayoutEffect, useRef } from "react";

import { MessageItem } from "@/features/room/components/message-item";
import type { MessageView } from "@/features/room/stores/message-view";
import { dayKey, formatDay } from "@/lib/format-time";

const GROUP_MS = 5 * 60 * 1000;
const NEAR_TOP_PX = 150;
const NEAR_BOTTOM_PX = 60;

interface Props {
  label: string;
  items: readonly MessageView[];
  hasOlder: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
  onRetry: (clientMsgId: string) => void;
  onReopen: (messageId: string) => void;
}

/**
 * The timeline, oldest at the top. Stays pinned to the bottom while the reader is there,
 * keeps its place when older pages arrive above, and asks for them near the top.
 */
export function MessageList({ label, items, hasOlder, loadingOlder, onLoadOlder, onRetry, onReopen }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const before = useRef<{ firstKey: string | null; lastKey: string | null; height: number }>({ firstKey: null, lastKey: null, height: 0 });

  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    const previous = before.current;
    const firstKey = items[0]?.key ?? null;
    const last = items.at(-1);
    const prepended = previous.firstKey !== null && firstKey !== previous.firstKey && items.some((item) => item.key === previous.firstKey);
    const mineJustAdded = last !== undefined && last.key !== previous.lastKey && last.mine && last.delivery === "sending";
    if (prepended && !atBottom.current) element.scrollTop += element.scrollHeight - previous.height;
    else if (atBottom.current || mineJustAdded) element.scrollTop = element.scrollHeight;
    before.current = { firstKey, lastKey: last?.key ?? null, height: element.scrollHeight };
    // Not enough to scroll yet: fetch more so the reader can.
    if (hasOlder && !loadingOlder && element.scrollHeight <= element.clientHeight + NEAR_TOP_PX) onLoadOlder();
  }, [items, hasOlder, loadingOlder, onLoadOlder]);

  const onScroll = () => {
    const element = ref.current;
    if (!element) return;
    atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_BOTTOM_PX;
    before.current.height = element.scrollHeight;
    if (element.scrollTop < NEAR_TOP_PX && hasOlder && !loadingOlder) onLoadOlder();
  };

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
              <MessageItem item={item} leading={leading} onRetry={onRetry} onReopen={onReopen} />
            </Fragment>
          );
        })}
      </ol>
    </div>
  );
}

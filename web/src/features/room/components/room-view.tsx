import { useCallback, useState, type ReactNode } from "react";

import { useStore } from "@/hooks/use-store";
import { Composer } from "@/features/room/components/composer";
import { MemberPanel } from "@/features/room/components/member-panel";
import { MessageList } from "@/features/room/components/message-list";
import { RoomHeader } from "@/features/room/components/room-header";
import { TypingIndicator } from "@/features/room/components/typing-indicator";
import type { RoomViewStore } from "@/features/room/stores/room-view-store";
import type { Visibility } from "@/lib/types";
import "@/features/room/components/room-view.css";

interface Props {
  room: RoomViewStore;
  title: string;
  visibility: Visibility;
  myId: string;
  maxTextBytes: number;
  actions: ReactNode;
}

export function RoomView({ room, title, visibility, myId, maxTextBytes, actions }: Props) {
  const state = useStore(room.store);
  const [membersOpen, setMembersOpen] = useState(() => window.matchMedia("(min-width: 1100px)").matches);
  const loadOlder = useCallback(() => void room.loadOlder(), [room]);
  const retry = useCallback((clientMsgId: string) => room.retry(clientMsgId), [room]);
  const reopen = useCallback((messageId: string) => room.reopen(messageId), [room]);
  const placeholder = visibility === "direct" ? `Message ${title}` : `Message #${title}`;
  // Owners remove others; nobody changes a direct room's two people.
  const iOwn = visibility !== "direct" && state.members.some((member) => member.user.id === myId && member.role === "owner");
  const removeMember = useCallback((userId: string) => room.removeMember(userId), [room]);

  return (
    <section className="room" aria-label={title}>
      <RoomHeader
        title={title}
        visibility={visibility}
        members={state.members}
        myId={myId}
        membersOpen={membersOpen}
        onToggleMembers={() => setMembersOpen((open) => !open)}
        actions={actions}
      />
      <div className="room__body">
        <div className="room__timeline">
          {state.status === "error" && (
            <p className="room__error" role="alert">
              Could not load this room: {state.error}{" "}
              <button type="button" className="link-button" onClick={() => void room.load()}>
                Try again
              </button>
            </p>
          )}
          <MessageList
            label={`Messages in ${title}`}
            items={state.items}
            hasOlder={state.hasOlder}
            loadingOlder={state.loadingOlder}
            onLoadOlder={loadOlder}
            onRetry={retry}
            onReopen={reopen}
          />
          <TypingIndicator names={state.typing} />
          <Composer placeholder={placeholder} maxBytes={maxTextBytes} onSend={(text) => room.send(text)} onTyping={(active) => room.noteTyping(active)} />
        </div>
        {membersOpen && <MemberPanel members={state.members} myId={myId} roomName={title} onRemove={iOwn ? removeMember : undefined} />}
      </div>
    </section>
  );
}

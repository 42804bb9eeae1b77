import { useCallback, useMemo, useState, type ReactNode } from "react";

import { Modal } from "@/components/modal";
import { PHONE_QUERY, useMediaQuery } from "@/hooks/use-media-query";
import { useStore } from "@/hooks/use-store";
import { Composer } from "@/features/room/components/composer";
import { MentionContextValue } from "@/features/room/components/formatted-text";
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
  /** Before the title in the header (the phone layout's Back to rooms). */
  navigation?: ReactNode;
}

export function RoomView({ room, title, visibility, myId, maxTextBytes, actions, navigation }: Props) {
  const state = useStore(room.store);
  const phone = useMediaQuery(PHONE_QUERY);
  // Wide screens show the members beside the timeline; on a phone they are a sheet, closed at first.
  const [membersOpen, setMembersOpen] = useState(() => window.matchMedia("(min-width: 1100px)").matches);
  const loadOlder = useCallback(() => void room.loadOlder(), [room]);
  const retry = useCallback((clientMsgId: string) => room.retry(clientMsgId), [room]);
  const reopen = useCallback((messageId: string) => room.reopen(messageId), [room]);
  const placeholder = visibility === "direct" ? `Message ${title}` : `Message #${title}`;
  const mentions = useMemo(
    () => ({
      me: state.members.find((member) => member.user.id === myId)?.user.username ?? "",
      members: new Set(state.members.map((member) => member.user.username.toLowerCase())),
    }),
    [state.members, myId],
  );

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
        navigation={navigation}
        compact={phone}
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
          <MentionContextValue.Provider value={mentions}>
            <MessageList
              label={`Messages in ${title}`}
              items={state.items}
              hasOlder={state.hasOlder}
              loadingOlder={state.loadingOlder}
              onLoadOlder={loadOlder}
              onRetry={retry}
              onReopen={reopen}
            />
          </MentionContextValue.Provider>
          <TypingIndicator names={state.typing} />
          <Composer
            placeholder={placeholder}
            maxBytes={maxTextBytes}
            onSend={(text) => room.send(text)}
            onTyping={(active) => room.noteTyping(active)}
            autoFocus
          />
        </div>
        {membersOpen && !phone && <MemberPanel members={state.members} myId={myId} />}
      </div>
      {membersOpen && phone && (
        <Modal title={`People in ${title}`} onClose={() => setMembersOpen(false)} className="modal--sheet">
          <MemberPanel members={state.members} myId={myId} />
        </Modal>
      )}
    </section>
  );
}

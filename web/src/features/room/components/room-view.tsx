import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type ReactNode } from "react";

import { Modal } from "@/components/modal";
import { PHONE_QUERY, useMediaQuery } from "@/hooks/use-media-query";
import { useStore } from "@/hooks/use-store";
import { Composer, type ComposerMode } from "@/features/room/components/composer";
import { DeleteMessageDialog } from "@/features/room/components/delete-message-dialog";
import { FileAccess, type FetchFile } from "@/features/room/components/file-access";
import { MentionContextValue } from "@/features/room/components/formatted-text";
import { MemberPanel } from "@/features/room/components/member-panel";
import { MessageList } from "@/features/room/components/message-list";
import type { MessageItemHandlers } from "@/features/room/components/message-item";
import { RoomHeader } from "@/features/room/components/room-header";
import { TypingIndicator } from "@/features/room/components/typing-indicator";
import type { MessageView } from "@/features/room/stores/message-view";
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

const HIGHLIGHT_MS = 2000;

/** Scroll to a message in the timeline and highlight it (once it is rendered). */
async function showMessage(messageId: string): Promise<boolean> {
  // The store announces on a microtask and React renders after: wait a few frames.
  for (let frame = 0; frame < 120; frame++) {
    const target = document.getElementById(`message-${messageId}`);
    if (target) {
      target.scrollIntoView({ block: "center" });
      // The list learns now (not on the next frame's scroll event) that the reader left the
      // bottom, so a render meanwhile does not pin it back there.
      target.closest(".timeline")?.dispatchEvent(new Event("scroll"));
      target.focus({ preventScroll: true });
      target.classList.add("message--highlight");
      setTimeout(() => target.classList.remove("message--highlight"), HIGHLIGHT_MS);
      return true;
    }
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  return false;
}

function hasFiles(event: DragEvent): boolean {
  return [...event.dataTransfer.types].includes("Files");
}

export function RoomView({ room, title, visibility, myId, maxTextBytes, actions, navigation }: Props) {
  // Before the first render's effects (the list marks the room read once it is seen).
  useState(() => room.enter());
  const state = useStore(room.store);
  const { uploads } = useStore(room.uploads.store);
  const phone = useMediaQuery(PHONE_QUERY);
  // Wide screens show the members beside the timeline; on a phone they are a sheet, closed at first.
  const [membersOpen, setMembersOpen] = useState(() => window.matchMedia("(min-width: 1100px)").matches);
  const [mode, setMode] = useState<ComposerMode>(null);
  const [pickingId, setPickingId] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<MessageView | null>(null);
  const loadOlder = useCallback(() => void room.loadOlder(), [room]);
  const markRead = useCallback(() => room.markRead(), [room]);
  const placeholder = visibility === "direct" ? `Message ${title}` : `Message #${title}`;
  const mentions = useMemo(
    () => ({
      me: state.members.find((member) => member.user.id === myId)?.user.username ?? "",
      members: new Set(state.members.map((member) => member.user.username.toLowerCase())),
    }),
    [state.members, myId],
  );
  // Owners remove others; nobody changes a direct room's two people.
  const iOwn = visibility !== "direct" && state.members.some((member) => member.user.id === myId && member.role === "owner");
  const removeMember = useCallback((userId: string) => room.removeMember(userId), [room]);
  // What the member panel's "seen" compares each read marker with.
  const shownSeqs = useMemo(() => state.items.flatMap((item) => (item.seq === null ? [] : [item.seq])), [state.items]);

  const startEdit = useCallback((item: MessageView) => {
    if (item.messageId && item.body.kind === "text") setMode({ kind: "edit", messageId: item.messageId, text: item.body.text });
  }, []);
  const handlers = useMemo<MessageItemHandlers>(
    () => ({
      onRetry: (clientMsgId) => room.retry(clientMsgId),
      onReopen: (messageId) => room.reopen(messageId),
      onReply: (item) => {
        if (!item.messageId) return;
        const text = item.body.kind === "text" ? item.body.text : "";
        setMode({ kind: "reply", messageId: item.messageId, senderName: item.senderName, text: text.length > 80 ? `${text.slice(0, 80)}…` : text });
      },
      onReact: (item) => setPickingId(item.messageId),
      onEdit: startEdit,
      onDelete: (item) => setDeleting(item),
      onToggleReaction: (messageId, key) => void room.toggleReaction(messageId, key).catch(() => undefined),
      onClosePicker: () => setPickingId(null),
      onJump: (messageId) => void showMessage(messageId),
    }),
    [room, startEdit],
  );
  const fetchFile = useCallback<FetchFile>((file, options) => room.fetchFile(file, options), [room]);
  const attach = useCallback((files: File[]) => room.attach(files), [room]);
  const cancelUpload = useCallback((id: string) => room.uploads.cancel(id), [room]);
  const dismissUpload = useCallback((id: string) => room.uploads.dismiss(id), [room]);

  // A search hit to show: load older pages until it is in, then scroll to it.
  const [jumpNotice, setJumpNotice] = useState<string | null>(null);
  const jump = state.jump;
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  useEffect(() => {
    if (!jump) return;
    room.jumpDone(); // taken: the request goes (this effect runs again, with none)
    setJumpNotice(null);
    void (async () => {
      const held = await room.reveal(jump.seq);
      if (!mounted.current) return;
      if (!held || !(await showMessage(jump.messageId))) setJumpNotice("That message is no longer in this room's history.");
    })();
  }, [jump, room]);

  // Files dropped anywhere on the room are attached.
  const [dragging, setDragging] = useState(false);
  const depth = useRef(0);
  const dropHandlers = {
    onDragEnter: (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth.current++;
      setDragging(true);
    },
    onDragOver: (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    },
    onDragLeave: (event: DragEvent) => {
      if (!hasFiles(event)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setDragging(false);
    },
    onDrop: (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth.current = 0;
      setDragging(false);
      const files = [...event.dataTransfer.files];
      if (files.length) attach(files);
    },
  };

  const send = (text: string) => {
    if (mode?.kind === "edit") {
      if (text !== mode.text) room.edit(mode.messageId, text);
    } else if (mode?.kind === "reply") room.reply(text, mode.messageId);
    else room.send(text);
    setMode(null);
  };

  return (
    <section className={`room${dragging ? " room--dropping" : ""}`} aria-label={title} {...dropHandlers}>
      {dragging && (
        <div className="room__drop" aria-hidden="true">
          Drop files to send them, sealed, to {title}
        </div>
      )}
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
          {jumpNotice && (
            <p className="room__error" role="status">
              {jumpNotice}
            </p>
          )}
          <FileAccess.Provider value={fetchFile}>
          <MentionContextValue.Provider value={mentions}>
            <MessageList
              label={`Messages in ${title}`}
              items={state.items}
              hasOlder={state.hasOlder}
              loadingOlder={state.loadingOlder}
              readSeq={state.readSeq}
              pickingId={pickingId}
              usedReactions={state.usedReactions}
              onLoadOlder={loadOlder}
              onRead={markRead}
              handlers={handlers}
              uploads={uploads}
              onCancelUpload={cancelUpload}
              onDismissUpload={dismissUpload}
            />
          </MentionContextValue.Provider>
          </FileAccess.Provider>
          <TypingIndicator names={state.typing} />
          <Composer
            placeholder={placeholder}
            maxBytes={maxTextBytes}
            mode={mode}
            onSend={send}
            onTyping={(active) => room.noteTyping(active)}
            onCancelMode={() => setMode(null)}
            onEditLast={() => {
              const last = room.lastEditable();
              if (last) startEdit(last);
            }}
            autoFocus
            onAttach={attach}
          />
        </div>
        {membersOpen && !phone && (
          <MemberPanel
            members={state.members}
            myId={myId}
            roomName={title}
            shownSeqs={shownSeqs}
            hasOlder={state.hasOlder}
            onRemove={iOwn ? removeMember : undefined}
          />
        )}
      </div>
      {membersOpen && phone && (
        <Modal title={`People in ${title}`} onClose={() => setMembersOpen(false)} className="modal--sheet">
          <MemberPanel
            members={state.members}
            myId={myId}
            roomName={title}
            shownSeqs={shownSeqs}
            hasOlder={state.hasOlder}
            onRemove={iOwn ? removeMember : undefined}
          />
        </Modal>
      )}
      {deleting?.messageId && (
        <DeleteMessageDialog
          mine={deleting.mine}
          senderName={deleting.senderName}
          onDelete={() => room.deleteMessage(deleting.messageId!)}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}

import { createContext, useContext, useId, useMemo, useState, type ReactNode } from "react";

import { formatMessage, type FormattedNode, type MentionContext } from "@/features/room/stores/formatting";

/** Who "@name" may refer to in the open room, and who is reading. */
export const MentionContextValue = createContext<MentionContext>({ me: "", members: new Set() });

/** Texts longer than this (characters or lines) start collapsed behind "Show more". */
export const COLLAPSE_CHARS = 1200;
export const COLLAPSE_LINES = 14;

/** A message's text with its formatting: React elements only, never HTML strings. */
/** `suffix`: shown after the text (e.g. "(edited)"), outside the formatting. */
export function FormattedText({ text, suffix }: { text: string; suffix?: ReactNode }) {
  const mentions = useContext(MentionContextValue);
  const nodes = useMemo(() => formatMessage(text, mentions), [text, mentions]);
  const long = text.length > COLLAPSE_CHARS || text.split("\n", COLLAPSE_LINES + 1).length > COLLAPSE_LINES;
  const [expanded, setExpanded] = useState(false);
  const id = useId();
  const collapsed = long && !expanded;
  return (
    <>
      <div id={id} className={`message__text message__text--formatted${collapsed ? " message__text--collapsed" : ""}`}>
        {render(nodes)}
        {suffix}
      </div>
      {long && (
        <button type="button" className="link-button message__more" aria-expanded={expanded} aria-controls={id} onClick={() => setExpanded(!expanded)}>
          {expanded ? "Show less" : "Show more"}
        </button>
      )}
    </>
  );
}

export function render(nodes: readonly FormattedNode[]): ReactNode[] {
  return nodes.map((node, index) => {
    switch (node.kind) {
      case "text":
        return node.text;
      case "mention":
        return (
          <span key={index} className={`mention${node.me ? " mention--me" : ""}`}>
            @{node.username}
            {node.me && <span className="visually-hidden"> (mentions you)</span>}
          </span>
        );
      case "link":
        return (
          <a key={index} href={node.href} target="_blank" rel="noopener noreferrer">
            {render(node.children)}
          </a>
        );
      case "element": {
        const Tag = node.tag;
        return <Tag key={index}>{render(node.children)}</Tag>;
      }
    }
  });
}

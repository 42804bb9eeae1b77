// Message formatting, done in the browser after opening (the server only sees ciphertext):
// a markdown subset parsed by markdown-it with raw HTML off, turned into a small tree of
// known nodes. Nothing here produces HTML: the view renders the tree as React elements, so
// every text is escaped by React and only the tags below can ever appear.

import MarkdownIt from "markdown-it";
import type { Token } from "markdown-it";

/** Tags a message may contain; anything else markdown-it could emit is flattened to its text. */
const TAGS = ["p", "em", "strong", "s", "code", "pre", "blockquote", "ul", "ol", "li"] as const;
export type FormattedTag = (typeof TAGS)[number];

export type FormattedNode =
  | { kind: "text"; text: string }
  | { kind: "element"; tag: FormattedTag; children: FormattedNode[] }
  | { kind: "link"; href: string; children: FormattedNode[] }
  | { kind: "mention"; username: string; me: boolean };

/** Link schemes a message may use; everything else (javascript:, data:, file:, …) stays text. */
const SAFE_LINK = /^(https?:\/\/|mailto:)/i;

export function isSafeLink(href: string): boolean {
  return SAFE_LINK.test(href.trim());
}

const parser = new MarkdownIt("zero", { html: false, linkify: true, breaks: true, typographer: false })
  .enable(["emphasis", "backticks", "strikethrough", "escape", "newline", "link", "autolink", "linkify"])
  .enable(["paragraph", "fence", "blockquote", "list"]);
parser.linkify.set({ fuzzyIP: false, fuzzyEmail: true });
parser.validateLink = isSafeLink;

// @username: a username (docs/protocol.md: 2-32 of a-z 0-9 . _ -) not glued to a word before.
const MENTION = /(^|[^\w@.-])@([a-z0-9][a-z0-9._-]{1,31})/gi;

export interface MentionContext {
  /** The signed-in person's username (lower case). */
  me: string;
  /** Usernames of the room's members (lower case): only these become mentions. */
  members: ReadonlySet<string>;
}

/** The message's text as a tree of safe nodes. */
export function formatMessage(text: string, mentions: MentionContext): FormattedNode[] {
  const root: FormattedNode[] = [];
  build(parser.parse(text, {}), root, mentions);
  return root;
}

/** True when the text mentions ``username`` (a member), outside code. */
export function mentionsUser(nodes: readonly FormattedNode[], username: string): boolean {
  return nodes.some((node) => {
    if (node.kind === "mention") return node.username === username;
    return node.kind !== "text" && mentionsUser(node.children, username);
  });
}

function build(tokens: readonly Token[], root: FormattedNode[], mentions: MentionContext): void {
  const stack: FormattedNode[][] = [root];
  const top = (): FormattedNode[] => stack[stack.length - 1] ?? root;
  for (const token of tokens) {
    switch (token.type) {
      case "inline":
        build(token.children ?? [], top(), mentions);
        continue;
      case "text":
        top().push(...withMentions(token.content, mentions));
        continue;
      case "code_inline":
        top().push({ kind: "element", tag: "code", children: [{ kind: "text", text: token.content }] });
        continue;
      case "fence":
      case "code_block":
        top().push({ kind: "element", tag: "pre", children: [{ kind: "element", tag: "code", children: [{ kind: "text", text: token.content }] }] });
        continue;
      case "softbreak":
      case "hardbreak":
        // A line break as typed (the view keeps white-space: pre-wrap): the text reads the same.
        top().push({ kind: "text", text: "\n" });
        continue;
    }
    if (token.nesting === 1) {
      // An unknown, hidden (tight list paragraphs) or unsafe wrapper: its children go to the parent.
      const children: FormattedNode[] = [];
      const node = token.hidden ? null : opening(token, children);
      if (node) top().push(node);
      stack.push(node ? children : top());
    } else if (token.nesting === -1) {
      if (stack.length > 1) stack.pop();
    } else if (token.content) {
      top().push({ kind: "text", text: token.content });
    }
  }
}

function opening(token: Token, children: FormattedNode[]): FormattedNode | null {
  if (token.type === "link_open") {
    const href = String(token.attrGet("href") ?? "");
    return isSafeLink(href) ? { kind: "link", href, children } : null;
  }
  return isTag(token.tag) ? { kind: "element", tag: token.tag, children } : null;
}

function isTag(tag: string): tag is FormattedTag {
  return (TAGS as readonly string[]).includes(tag);
}

function withMentions(text: string, { me, members }: MentionContext): FormattedNode[] {
  const nodes: FormattedNode[] = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    const [, before = "", name = ""] = match;
    const username = name.toLowerCase();
    if (!members.has(username)) continue;
    const start = match.index + before.length;
    if (start > last) nodes.push({ kind: "text", text: text.slice(last, start) });
    nodes.push({ kind: "mention", username, me: username === me });
    last = start + 1 + name.length;
  }
  if (last < text.length) nodes.push({ kind: "text", text: text.slice(last) });
  return nodes;
}

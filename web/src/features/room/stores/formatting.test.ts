import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import { FormattedText, MentionContextValue } from "@/features/room/components/formatted-text";
import { formatMessage, isSafeLink, mentionsUser, type MentionContext } from "@/features/room/stores/formatting";

const room: MentionContext = { me: "alice", members: new Set(["alice", "bob"]) };

function html(text: string, mentions: MentionContext = room): string {
  return renderToStaticMarkup(createElement(MentionContextValue.Provider, { value: mentions }, createElement(FormattedText, { text })));
}

describe("formatting", () => {
  it("renders emphasis, inline code, code blocks, quotes and lists", () => {
    expect(html("*soft* **bold** ~~gone~~ `x < y`")).toContain("<em>soft</em> <strong>bold</strong> <s>gone</s> <code>x &lt; y</code>");
    expect(html("```\nconst a = 1 < 2;\n```")).toContain("<pre><code>const a = 1 &lt; 2;\n</code></pre>");
    expect(html("> quoted")).toContain("<blockquote><p>quoted</p></blockquote>");
    expect(html("- one\n- two")).toContain("<ul><li>one</li><li>two</li></ul>");
    expect(html("1. first\n2. second")).toContain("<ol><li>first</li><li>second</li></ol>");
  });

  it("keeps line breaks and plain text as typed", () => {
    expect(html("line one\nline two")).toContain("<p>line one\nline two</p>");
    expect(html("# not a heading")).toContain("# not a heading");
  });

  it("makes http, https and mailto links clickable, opening safely in a new tab", () => {
    const out = html("see https://example.com/a?b=1 and [docs](http://example.org) or mailto:someone@example.com");
    expect(out).toContain('<a href="https://example.com/a?b=1" target="_blank" rel="noopener noreferrer">https://example.com/a?b=1</a>');
    expect(out).toContain('<a href="http://example.org" target="_blank" rel="noopener noreferrer">docs</a>');
    expect(out).toContain('href="mailto:someone@example.com"');
  });

  it("never makes a javascript:, data: or file: link", () => {
    for (const text of [
      "[click](javascript:alert(1))",
      "[click](JaVaScRiPt:alert(1))",
      "[click](java\tscript:alert(1))",
      "<javascript:alert(1)>",
      "javascript:alert(1)",
      "[x](data:text/html,<script>alert(1)</script>)",
      "[x](file:///etc/passwd)",
      "[x](vbscript:msgbox)",
    ]) {
      const out = html(text);
      expect(out).not.toMatch(/<a /);
      expect(out.toLowerCase()).not.toContain('href="javascript');
    }
    expect(isSafeLink("javascript:alert(1)")).toBe(false);
    expect(isSafeLink(" https://example.com")).toBe(true);
  });

  it("shows raw HTML as text, never as markup", () => {
    const out = html('<img src=x onerror="alert(1)"> <script>alert(2)</script> <b>bold</b>');
    expect(out).not.toContain("<img");
    expect(out).not.toContain("<script");
    expect(out).not.toContain("<b>");
    expect(out).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(out).toContain("&lt;script&gt;alert(2)&lt;/script&gt;");
  });

  it("highlights mentions of members only, and marks the ones of me", () => {
    const nodes = formatMessage("hi @Alice and @bob, not @carol nor mail@bob.example or `@bob`", room);
    expect(mentionsUser(nodes, "alice")).toBe(true);
    const out = html("hi @Alice and @bob, not @carol nor `@bob`");
    expect(out).toContain('<span class="mention mention--me">@alice<span class="visually-hidden"> (mentions you)</span></span>');
    expect(out).toContain('<span class="mention">@bob</span>');
    expect(out).toContain("not @carol");
    expect(out).toContain("<code>@bob</code>");
    expect(mentionsUser(formatMessage("hi @bob", room), "alice")).toBe(false);
  });

  it("collapses a 20,000 character message behind Show more", () => {
    const text = "word ".repeat(4000);
    expect(text.length).toBe(20000);
    const out = html(text);
    expect(out).toContain("message__text--collapsed");
    expect(out).toContain('aria-expanded="false"');
    expect(out).toContain(">Show more</button>");
    expect(html("short")).not.toContain("Show more");
    expect(html("a\n".repeat(30))).toContain("Show more");
  });
});

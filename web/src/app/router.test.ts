// The router's URLs: rooms, sign-in and the reserved OIDC callback; back and forward.

import { describe, expect, it } from "vitest";

import { parseRoute, routePath, Router, type HistoryLike, type Route } from "@/app/router";

function fakeWindow(path = "/") {
  const listeners = new Set<() => void>();
  const entries = [path];
  let index = 0;
  const location = { pathname: path, search: "" };
  const go = (url: string) => {
    const [pathname, search = ""] = url.split("?");
    location.pathname = pathname!;
    location.search = search ? `?${search}` : "";
  };
  const win: HistoryLike & { back(): void; entries: string[] } = {
    location,
    entries,
    history: {
      pushState: (_state: unknown, _title: string, url?: string | URL | null) => {
        entries.splice(++index, entries.length, String(url));
        go(String(url));
      },
      replaceState: (_state: unknown, _title: string, url?: string | URL | null) => {
        entries[index] = String(url);
        go(String(url));
      },
    },
    addEventListener: (_type, listener) => listeners.add(listener),
    removeEventListener: (_type, listener) => listeners.delete(listener),
    back() {
      go(entries[--index]!);
      for (const listener of listeners) listener();
    },
  };
  return win;
}

describe("routes", () => {
  it.each<[string, Route]>([
    ["/", { name: "home" }],
    ["/rooms/r-1", { name: "room", roomId: "r-1" }],
    ["/rooms/a%2Fb", { name: "room", roomId: "a/b" }],
    ["/sign-in", { name: "sign-in" }],
    ["/somewhere/else", { name: "home" }],
    ["/rooms/%E0%A4%A", { name: "home" }],
  ])("%s", (path, route) => {
    expect(parseRoute(path)).toEqual(route);
  });

  it("keeps the callback's query for the OIDC code exchange", () => {
    const route = parseRoute("/auth/callback", "?code=abc&state=xyz");
    expect(route).toEqual({ name: "auth-callback", search: "?code=abc&state=xyz" });
    expect(routePath(route)).toBe("/auth/callback?code=abc&state=xyz");
  });

  it("round-trips room ids", () => {
    expect(parseRoute(routePath({ name: "room", roomId: "a b/c" }))).toEqual({ name: "room", roomId: "a b/c" });
  });
});

describe("Router", () => {
  it("pushes, replaces and follows Back", () => {
    const win = fakeWindow("/");
    const router = new Router(win);
    router.navigate({ name: "room", roomId: "a" }, { replace: true });
    router.navigate({ name: "room", roomId: "b" });
    router.navigate({ name: "room", roomId: "b" }); // the same place: no new entry
    expect(win.entries).toEqual(["/rooms/a", "/rooms/b"]);
    win.back();
    expect(router.route).toEqual({ name: "room", roomId: "a" });
    router.dispose();
  });
});

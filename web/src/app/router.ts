// A small router for real URLs over the history API (the server answers every unknown GET
// path with index.html, sealchat/api/web.py, so a deep link or a reload lands here):
//
//   /                the chat, first room of the list
//   /rooms/:id       the chat with that room open
//   /sign-in         the sign-in page (the embedded provider's form)
//   /auth/callback   reserved for the OIDC / Cognito redirect (the authenticator's code exchange)
//
// Anything else is read as "/".

import { Store } from "@/lib/store";

export type Route =
  | { name: "home" }
  | { name: "room"; roomId: string }
  | { name: "sign-in" }
  | { name: "auth-callback"; search: string };

const ROOM = /^\/rooms\/([^/]+)\/?$/;

export function parseRoute(pathname: string, search = ""): Route {
  const room = ROOM.exec(pathname);
  if (room?.[1]) {
    try {
      return { name: "room", roomId: decodeURIComponent(room[1]) };
    } catch {
      return { name: "home" }; // a malformed escape
    }
  }
  if (pathname === "/sign-in") return { name: "sign-in" };
  if (pathname === "/auth/callback") return { name: "auth-callback", search };
  return { name: "home" };
}

export function routePath(route: Route): string {
  switch (route.name) {
    case "home":
      return "/";
    case "room":
      return `/rooms/${encodeURIComponent(route.roomId)}`;
    case "sign-in":
      return "/sign-in";
    case "auth-callback":
      return `/auth/callback${route.search}`;
  }
}

export interface HistoryLike {
  readonly location: { pathname: string; search: string };
  readonly history: Pick<History, "pushState" | "replaceState">;
  addEventListener(type: "popstate", listener: () => void): void;
  removeEventListener(type: "popstate", listener: () => void): void;
}

export class Router {
  readonly store: Store<{ route: Route }>;
  private readonly onPop = () => this.store.set({ route: this.current() });

  constructor(private readonly window: HistoryLike) {
    this.store = new Store({ route: this.current() });
    window.addEventListener("popstate", this.onPop);
  }

  get route(): Route {
    return this.store.get().route;
  }

  /** Go to a route: a new history entry, or in place of the current one with `replace`. */
  navigate(route: Route, { replace = false } = {}): void {
    const path = routePath(route);
    const { pathname, search } = this.window.location;
    if (path === `${pathname}${search}`) return;
    if (replace) this.window.history.replaceState(null, "", path);
    else this.window.history.pushState(null, "", path);
    this.store.set({ route: this.current() });
  }

  dispose(): void {
    this.window.removeEventListener("popstate", this.onPop);
  }

  private current(): Route {
    return parseRoute(this.window.location.pathname, this.window.location.search);
  }
}

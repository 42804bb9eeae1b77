import { useEffect, useRef, useState } from "react";

import { ChatShell } from "@/app/chat-shell";
import { Router, routePath, type Route } from "@/app/router";
import { startChatSession } from "@/app/sdk-config";
import { env } from "@/config/env";
import { SignInPage } from "@/features/auth/components/sign-in-page";
import { SessionStore } from "@/features/auth/stores/session-store";
import { useStore } from "@/hooks/use-store";
import { ApiClient } from "@/lib/api-client";
import { EmbeddedAuthenticator } from "@/lib/embedded-authenticator";

export function App() {
  const [router] = useState(() => new Router(window));
  const [sessions] = useState(() => {
    const auth = new EmbeddedAuthenticator(env.apiUrl);
    const api = new ApiClient(env.apiUrl, auth);
    return new SessionStore(auth, () => startChatSession(api));
  });
  const { current } = useStore(sessions.store);
  const { route } = useStore(router.store);
  // Where a signed-out person was going (a deep link), to go on there after signing in.
  const returnTo = useRef<Route | null>(null);
  useEffect(() => {
    void sessions.resume();
    return () => router.dispose();
  }, [sessions, router]);

  useEffect(() => {
    if (current.status === "signed-out" && route.name !== "sign-in" && route.name !== "auth-callback") {
      if (route.name === "room") returnTo.current = route;
      router.navigate({ name: "sign-in" }, { replace: true });
    } else if (current.status === "signed-in" && (route.name === "sign-in" || route.name === "auth-callback")) {
      router.navigate(returnTo.current ?? { name: "home" }, { replace: true });
      returnTo.current = null;
    }
  }, [current.status, route, router]);

  switch (current.status) {
    case "resuming":
      return (
        <div className="splash" role="status">
          Opening Sealchat…
        </div>
      );
    case "signed-out":
      if (route.name === "auth-callback") {
        // Reserved for the OIDC flow: the embedded provider never redirects here.
        return (
          <div className="splash" role="status">
            Finishing sign-in… <a href={routePath({ name: "sign-in" })}>Back to sign-in</a>
          </div>
        );
      }
      return (
        <SignInPage
          busy={current.busy}
          error={current.error}
          onSignIn={(username, password) => void sessions.signIn(username, password)}
          onRegister={(username, password) => void sessions.register(username, password)}
        />
      );
    case "signed-in":
      return (
        <ChatShell key={current.session.me.id} session={current.session} router={router} onSignOut={() => void sessions.signOut()} />
      );
  }
}

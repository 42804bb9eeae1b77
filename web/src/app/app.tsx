import { useEffect, useState } from "react";

import { ChatShell } from "@/app/chat-shell";
import { env } from "@/config/env";
import { SignInPage } from "@/features/auth/components/sign-in-page";
import { SessionStore } from "@/features/auth/stores/session-store";
import { useStore } from "@/hooks/use-store";
import { ApiClient } from "@/lib/api-client";

export function App() {
  const [sessions] = useState(() => new SessionStore(new ApiClient(env.apiUrl)));
  const { current } = useStore(sessions.store);
  useEffect(() => {
    void sessions.resume();
  }, [sessions]);

  switch (current.status) {
    case "resuming":
      return (
        <div className="splash" role="status">
          Opening Sealchat…
        </div>
      );
    case "signed-out":
      return (
        <SignInPage
          busy={current.busy}
          error={current.error}
          onSignIn={(username, password) => void sessions.signIn(username, password)}
          onRegister={(username, password) => void sessions.register(username, password)}
        />
      );
    case "signed-in":
      return <ChatShell key={current.session.me.id} session={current.session} onSignOut={() => void sessions.signOut()} />;
  }
}

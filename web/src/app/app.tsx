import { useEffect, useRef, useState } from "react";

import { ChatShell } from "@/app/chat-shell";
import { Router, routePath, type Route } from "@/app/router";
import { setUpSdk, type SdkSetup } from "@/app/sdk-config";
import { env } from "@/config/env";
import { ProviderSignInPage, SignInPage } from "@/features/auth/components/sign-in-page";
import { SessionStore } from "@/features/auth/stores/session-store";
import { useStore } from "@/hooks/use-store";
import { errorMessage } from "@/lib/errors";

export function App() {
  const [router] = useState(() => new Router(window));
  // Which sign-in and key service come from GET /api/config, read once at start.
  const [setup, setSetup] = useState<SdkSetup | null>(null);
  const [setupError, setSetupError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setUpSdk(env.apiUrl).then(
      (value) => live && setSetup(value),
      (error: unknown) => live && setSetupError(errorMessage(error)),
    );
    return () => {
      live = false;
      router.dispose();
    };
  }, [router]);

  if (!setup) {
    return (
      <div className="splash" role="status">
        {setupError ? `Sealchat could not start: ${setupError}` : "Opening Sealchat…"}
      </div>
    );
  }
  return <SignedInOrNot setup={setup} router={router} />;
}

function SignedInOrNot({ setup, router }: { setup: SdkSetup; router: Router }) {
  const [sessions] = useState(() => new SessionStore(setup.signIn.auth, setup.start));
  const { current } = useStore(sessions.store);
  const { route } = useStore(router.store);
  // Where a signed-out person was going (a deep link), to go on there after signing in.
  const returnTo = useRef<Route | null>(null);
  useEffect(() => {
    void sessions.resume();
  }, [sessions]);

  useEffect(() => {
    if (current.status === "signed-out" && route.name !== "sign-in" && route.name !== "auth-callback") {
      if (route.name === "room") returnTo.current = route;
      router.navigate({ name: "sign-in" }, { replace: true });
    } else if (current.status === "signed-out" && route.name === "auth-callback" && !current.busy) {
      router.navigate({ name: "sign-in" }, { replace: true }); // the code exchange failed: say why there
    } else if (current.status === "signed-in" && (route.name === "sign-in" || route.name === "auth-callback")) {
      router.navigate(returnTo.current ?? { name: "home" }, { replace: true });
      returnTo.current = null;
    }
  }, [current, route, router]);

  switch (current.status) {
    case "resuming":
      return (
        <div className="splash" role="status">
          {route.name === "auth-callback" ? "Finishing sign-in…" : "Opening Sealchat…"}
        </div>
      );
    case "signed-out": {
      const signIn = setup.signIn;
      if (route.name === "auth-callback") {
        return (
          <div className="splash" role="status">
            Finishing sign-in… <a href={routePath({ name: "sign-in" })}>Back to sign-in</a>
          </div>
        );
      }
      if (signIn.kind === "redirect") {
        const back = returnTo.current ? routePath(returnTo.current) : undefined;
        return (
          <ProviderSignInPage
            busy={current.busy}
            error={current.error}
            provider={signIn.provider}
            onSignIn={() => void sessions.signInRedirect(() => signIn.auth.signInRedirect(back))}
          />
        );
      }
      return (
        <SignInPage
          busy={current.busy}
          error={current.error}
          provider={signIn.provider}
          onSignIn={(username, password) => void sessions.signIn(username, password)}
          onEdit={() => sessions.clearError()}
          onRegister={signIn.canRegister ? (username, password) => void sessions.register(username, password) : undefined}
        />
      );
    }
    case "signed-in":
      return (
        <ChatShell key={current.session.me.id} session={current.session} router={router} onSignOut={() => void sessions.signOut()} />
      );
  }
}

// Sign-in with any OpenID Connect provider (Keycloak, Authentik, Okta, Entra ID, Google):
// the authorization-code flow with PKCE through oidc-client-ts. signIn() leaves for the
// provider; the provider sends the browser back to /auth/callback, where resume() trades
// the code (and the PKCE verifier kept in sessionStorage) for tokens. Renewal is silent
// (oidc-client-ts renews with the refresh token when the provider issued one, else in a
// hidden iframe at /auth/callback?silent), and signOut() ends the provider's session too.
//
// Which token the chat server receives follows its audience setting: when the server's
// audience is this app's client id (or unset), the ID token (whose `aud` is the client
// id); otherwise the access token, issued for that audience (docs/oidc.md).

import { UserManager, type User as OidcUser, type UserManagerSettings } from "oidc-client-ts";

import type { Authenticator } from "@/lib/authenticator";
import { ApiError } from "@/lib/errors";
import type { User } from "@/lib/types";

export const CALLBACK_PATH = "/auth/callback";

/** The part of oidc-client-ts's UserManager used here (tests pass a fake). */
export interface OidcUserManager {
  getUser(): Promise<OidcUser | null>;
  signinRedirect(args?: { state?: unknown }): Promise<void>;
  signinCallback(url?: string): Promise<OidcUser | undefined | void>;
  signinSilent(): Promise<OidcUser | null>;
  signoutRedirect(args?: { id_token_hint?: string }): Promise<void>;
  removeUser(): Promise<void>;
  events: {
    addUserLoaded(cb: (user: OidcUser) => void): () => void;
    addAccessTokenExpired(cb: () => void): () => void;
    addSilentRenewError(cb: (error: Error) => void): () => void;
  };
}

export interface OidcOptions {
  issuer: string;
  clientId: string;
  scopes: string;
  /** The chat server's expected audience: the client id (or none) means the ID token. */
  audience?: string | null;
  /** The page's origin: redirect_uri is origin + /auth/callback. */
  origin: string;
  /** Where the browser is now (to tell a callback from a fresh start). */
  location?: () => URL;
  manager?: OidcUserManager;
}

type Listener = () => void;

export class OidcAuthenticator implements Authenticator {
  private readonly manager: OidcUserManager;
  private readonly useIdToken: boolean;
  private current: OidcUser | null = null;
  private refreshing: Promise<void> | null = null;
  private readonly tokenListeners = new Set<Listener>();
  private readonly signedOutListeners = new Set<Listener>();

  constructor(private readonly options: OidcOptions) {
    this.useIdToken = !options.audience || options.audience === options.clientId;
    this.manager = options.manager ?? new UserManager(oidcSettings(options));
    this.manager.events.addUserLoaded((user) => {
      const renewed = this.current !== null;
      this.current = user;
      if (renewed) for (const listener of [...this.tokenListeners]) listener();
    });
    this.manager.events.addSilentRenewError(() => {
      // The next accessToken() tries again; a refusal there signs out.
    });
  }

  /** The provider's host, for the "Sign in with …" button. */
  get providerName(): string {
    try {
      return new URL(this.options.issuer).host;
    } catch {
      return this.options.issuer;
    }
  }

  get user(): User | null {
    const profile = this.current?.profile;
    if (!profile) return null;
    return { id: profile.sub, username: String(profile.preferred_username ?? profile.name ?? profile.email ?? profile.sub) };
  }

  onTokens(listener: Listener): () => void {
    this.tokenListeners.add(listener);
    return () => this.tokenListeners.delete(listener);
  }

  onSignedOut(listener: Listener): () => void {
    this.signedOutListeners.add(listener);
    return () => this.signedOutListeners.delete(listener);
  }

  /** Leave for the provider's sign-in page (the promise settles only if that fails). */
  async signInRedirect(returnTo?: string): Promise<void> {
    await this.manager.signinRedirect(returnTo ? { state: { returnTo } } : undefined);
  }

  /**
   * On /auth/callback: finish the code exchange (PKCE) and clean the URL. Elsewhere: the
   * user oidc-client-ts kept in sessionStorage, renewed silently when it has expired.
   */
  async resume(): Promise<User | null> {
    const here = this.options.location?.() ?? new URL(globalThis.location.href);
    if (here.pathname === CALLBACK_PATH && (here.searchParams.has("code") || here.searchParams.has("error"))) {
      try {
        const user = await this.manager.signinCallback(here.href);
        if (user) this.current = user;
      } catch (error) {
        throw new ApiError("unauthorized", `Sign-in failed: ${error instanceof Error ? error.message : String(error)}`, 401);
      }
      return this.user;
    }
    const stored = await this.manager.getUser();
    if (!stored) return null;
    this.current = stored;
    if (stored.expired) {
      try {
        await this.refresh();
      } catch {
        return null;
      }
    }
    return this.user;
  }

  async accessToken(minFractionLeft = 0.2): Promise<string> {
    let user = this.require();
    // Renew when little is left: the SDK's usual share, at most 30 s (expires_in is in s).
    const margin = Math.min(30, minFractionLeft * 300);
    if (user.expired || (user.expires_in ?? Infinity) < margin) {
      await this.refresh();
      user = this.require();
    }
    const token = this.useIdToken ? user.id_token : user.access_token;
    if (!token) throw new ApiError("unauthorized", `the provider issued no ${this.useIdToken ? "ID" : "access"} token`);
    return token;
  }

  /** The embedded key service accepts the same provider token (docs/oidc.md). */
  keyServiceToken(): Promise<string> {
    return this.accessToken();
  }

  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      let user: OidcUser | null;
      try {
        user = await this.manager.signinSilent();
      } catch (error) {
        this.signedOut();
        throw new ApiError("unauthorized", `the provider ended the session: ${error instanceof Error ? error.message : String(error)}`, 401);
      }
      if (!user) {
        this.signedOut();
        throw new ApiError("unauthorized", "the provider ended the session", 401);
      }
      this.current = user;
      for (const listener of [...this.tokenListeners]) listener();
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Forget the tokens here, then end the provider's session (a redirect there and back). */
  async signOut(): Promise<void> {
    const idToken = this.current?.id_token;
    this.current = null;
    await this.manager.removeUser();
    // The ID token as a hint lets the provider end the right session.
    if (idToken) await this.manager.signoutRedirect({ id_token_hint: idToken }).catch(() => undefined);
  }

  private require(): OidcUser {
    if (!this.current) throw new ApiError("unauthorized", "not signed in");
    return this.current;
  }

  private signedOut(): void {
    const was = this.current !== null;
    this.current = null;
    void this.manager.removeUser();
    if (was) for (const listener of [...this.signedOutListeners]) listener();
  }
}

export function oidcSettings(options: OidcOptions): UserManagerSettings {
  return {
    authority: options.issuer,
    client_id: options.clientId,
    redirect_uri: `${options.origin}${CALLBACK_PATH}`,
    silent_redirect_uri: `${options.origin}${CALLBACK_PATH}?silent`,
    post_logout_redirect_uri: `${options.origin}/sign-in`,
    response_type: "code", // oidc-client-ts always sends a PKCE S256 challenge with it
    scope: options.scopes,
    automaticSilentRenew: true,
    // The user (tokens) stays in this tab's sessionStorage, oidc-client-ts's default.
  };
}

// The sign-in port of the SDK. The embedded identity provider's password sign-in is
// EmbeddedAuthenticator; an OIDC / Cognito redirect flow will be another implementation
// (its callback route, /auth/callback, is reserved in app/router.ts). Whatever signs in,
// the rest of the SDK only asks for fresh access tokens.

import type { User } from "@/lib/types";

export interface Authenticator {
  /** The signed-in person, or null. */
  readonly user: User | null;
  /** Resume a session kept by the browser (a cookie, say); null when there is none. */
  resume(): Promise<User | null>;
  /** A chat-server access token with at least that share of its lifetime left. */
  accessToken(minFractionLeft?: number): Promise<string>;
  /** An access token for the key service (another audience), refreshed with the first. */
  keyServiceToken(): Promise<string>;
  /** Get new tokens now (after a token_expired). Rejects when the session has ended. */
  refresh(): Promise<void>;
  /** End the session on the identity provider and forget the tokens. */
  signOut(): Promise<void>;
  /** Called after every silent refresh; returns the function that unsubscribes. */
  onTokens(listener: () => void): () => void;
  /** Called when the session ended on the provider's side (refresh refused). */
  onSignedOut(listener: () => void): () => void;
}

/** Sign-in with a username and a password (the embedded provider's form). */
export interface PasswordAuthenticator extends Authenticator {
  signIn(username: string, password: string): Promise<User>;
  register(username: string, password: string): Promise<User>;
}

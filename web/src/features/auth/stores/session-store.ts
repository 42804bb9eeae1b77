// View model of signing in and out. The session itself is the refresh cookie (httpOnly,
// set by the server); on start we try to resume it silently.

import type { Authenticator, PasswordAuthenticator } from "@/lib/authenticator";
import type { ChatSession } from "@/lib/chat-session";
import { errorMessage } from "@/lib/errors";
import { Store } from "@/lib/store";

export type SessionState =
  | { status: "resuming" }
  | { status: "signed-out"; error: string | null; busy: boolean }
  | { status: "signed-in"; session: ChatSession };

export class SessionStore {
  readonly store = new Store<{ current: SessionState }>({ current: { status: "resuming" } });

  constructor(
    private readonly auth: Authenticator,
    private readonly startSession: () => Promise<ChatSession>,
  ) {
    auth.onSignedOut(() => this.ended("Your session has ended. Please sign in again."));
  }

  async resume(): Promise<void> {
    try {
      const user = await this.auth.resume();
      if (user) await this.start();
      else this.signedOut(null);
    } catch (error) {
      this.signedOut(errorMessage(error));
    }
  }

  signIn(username: string, password: string): Promise<void> {
    return this.attempt(() => this.password().signIn(username, password));
  }

  register(username: string, password: string): Promise<void> {
    return this.attempt(() => this.password().register(username, password));
  }

  /** Leave for the identity provider (OIDC); the page comes back at /auth/callback. */
  async signInRedirect(redirect: () => Promise<void>): Promise<void> {
    this.store.set({ current: { status: "signed-out", error: null, busy: true } });
    try {
      await redirect();
    } catch (error) {
      this.signedOut(errorMessage(error));
    }
  }

  private password(): PasswordAuthenticator {
    const auth = this.auth as Partial<PasswordAuthenticator>;
    if (typeof auth.signIn !== "function") throw new Error("this sign-in takes no password");
    return this.auth as PasswordAuthenticator;
  }

  /** End the session on the server (revoke it, clear the cookie), then show the sign-in page. */
  async signOut(): Promise<void> {
    const current = this.store.get().current;
    this.store.set({ current: { status: "signed-out", error: null, busy: true } });
    if (current.status === "signed-in") await current.session.signOut();
    try {
      await this.auth.signOut();
    } catch {
      // Signed out here either way; the server forgets unused sessions at their expiry.
    }
    this.signedOut(null);
  }

  private async attempt(call: () => Promise<unknown>): Promise<void> {
    this.store.set({ current: { status: "signed-out", error: null, busy: true } });
    try {
      await call();
      await this.start();
    } catch (error) {
      this.signedOut(errorMessage(error));
    }
  }

  private async start(): Promise<void> {
    const session = await this.startSession();
    this.store.set({ current: { status: "signed-in", session } });
  }

  /** The person edits the form: an old error no longer applies. */
  clearError(): void {
    const current = this.store.get().current;
    if (current.status === "signed-out" && current.error !== null) this.store.set({ current: { ...current, error: null } });
  }

  private ended(error: string | null): void {
    const current = this.store.get().current;
    if (current.status === "signed-in") current.session.dispose();
    this.signedOut(error);
  }

  private signedOut(error: string | null): void {
    this.store.set({ current: { status: "signed-out", error, busy: false } });
  }
}

import { useState, type FormEvent } from "react";

import { LockIcon } from "@/components/icons";
import "@/features/auth/components/sign-in-page.css";

interface Props {
  busy: boolean;
  error: string | null;
  onSignIn: (username: string, password: string) => void;
  /** The form changed: an error shown for the previous attempt should go. */
  onEdit?: () => void;
  /** Absent when accounts are made elsewhere (a Cognito user pool). */
  onRegister?: (username: string, password: string) => void;
  /** Shown under the title: whose accounts this form checks ("Cognito"); null for our own. */
  provider?: string | null;
}

/** The configured sign-in: the password form (embedded, Cognito) or the provider's button (OIDC). */
export function SignInPage({ busy, error, onSignIn, onEdit, onRegister, provider = null }: Props) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSignIn(username, password);
  };
  const register = () => {
    // The browser's own checks (required, length) before asking the server.
    const form = document.getElementById("sign-in-form") as HTMLFormElement | null;
    if (form && !form.reportValidity()) return;
    onRegister?.(username, password);
  };

  return (
    <main className="sign-in">
      <form id="sign-in-form" className="sign-in__card" onSubmit={submit} aria-labelledby="sign-in-title">
        <div className="sign-in__brand">
          <span className="sign-in__logo">
            <LockIcon />
          </span>
          <h1 id="sign-in-title">Sealchat</h1>
        </div>
        <p className="sign-in__tagline">Team chat sealed in your browser. The server only ever sees ciphertext.</p>
        {provider && <p className="sign-in__hint">Sign in with your {provider} account.</p>}
        <label className="field">
          <span className="field__label">Username</span>
          <input
            className="field__input"
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            minLength={2}
            maxLength={32}
            autoFocus
            value={username}
            onChange={(event) => {
              setUsername(event.target.value);
              onEdit?.();
            }}
          />
        </label>
        <label className="field">
          <span className="field__label">Password</span>
          <input
            className="field__input"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            minLength={8}
            maxLength={1024}
            value={password}
            onChange={(event) => {
              setPassword(event.target.value);
              onEdit?.();
            }}
          />
        </label>
        {error && (
          <p className="sign-in__error" role="alert">
            {error}
          </p>
        )}
        <div className="sign-in__actions">
          <button type="submit" className="button button--primary" disabled={busy}>
            Sign in
          </button>
          {onRegister && (
            <button type="button" className="button button--secondary" disabled={busy} onClick={register}>
              Create account
            </button>
          )}
        </div>
        {onRegister && (
          <p className="sign-in__hint">New here? Choose a username (2-32 letters, digits, . _ -) and a password of 8 characters or more, then Create account.</p>
        )}
      </form>
    </main>
  );
}

interface ProviderProps {
  busy: boolean;
  error: string | null;
  /** The provider's host, as in "Sign in with id.example.com". */
  provider: string;
  onSignIn: () => void;
}

/** OIDC: one button that leaves for the provider (code flow with PKCE). */
export function ProviderSignInPage({ busy, error, provider, onSignIn }: ProviderProps) {
  return (
    <main className="sign-in">
      <div className="sign-in__card" role="region" aria-labelledby="sign-in-title">
        <div className="sign-in__brand">
          <span className="sign-in__logo">
            <LockIcon />
          </span>
          <h1 id="sign-in-title">Sealchat</h1>
        </div>
        <p className="sign-in__tagline">Team chat sealed in your browser. The server only ever sees ciphertext.</p>
        {error && (
          <p className="sign-in__error" role="alert">
            {error}
          </p>
        )}
        <div className="sign-in__actions">
          <button type="button" className="button button--primary" disabled={busy} onClick={onSignIn}>
            Sign in with {provider}
          </button>
        </div>
      </div>
    </main>
  );
}

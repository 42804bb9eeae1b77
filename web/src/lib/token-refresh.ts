// When an authenticator refreshes its tokens, shared by the embedded and Cognito sign-ins
// (the same policy as the Python client's TokenSession): ahead of a call when less than a
// share of the lifetime (at most 30 s) is left, and silently at 80 % of the lifetime.

import { ApiError } from "@/lib/errors";

export interface TokenTiming {
  expiresAt: number;
  lifetime: number;
}

/** True when a call should refresh first: less than `minFractionLeft` (≤ 30 s) is left. */
export function refreshDue(tokens: TokenTiming, minFractionLeft: number, now: number): boolean {
  const margin = Math.min(30_000, tokens.lifetime * minFractionLeft);
  return tokens.expiresAt - now < margin;
}

/** The silent refresh: at 80 % of the lifetime; an unreachable server is retried 10 s later. */
export class SilentRefresh {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly current: () => TokenTiming | null,
    private readonly refresh: () => Promise<unknown>,
    private readonly clock: () => number = Date.now,
  ) {}

  /** (Re)arm it for the current tokens; nothing when signed out. */
  schedule(delay?: number): void {
    clearTimeout(this.timer);
    const tokens = this.current();
    if (!tokens) return;
    const due = delay ?? Math.max(1_000, tokens.expiresAt - this.clock() - 0.2 * tokens.lifetime);
    this.timer = setTimeout(() => {
      this.refresh().catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) return; // signed out already
        this.schedule(10_000);
      });
    }, due);
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}

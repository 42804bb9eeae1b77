// The client's settings in one place. The app is served by the Sealchat server itself
// (the server accepts same-origin sockets only), so the API lives at the page's origin.

function origin(): string {
  const value = typeof window === "undefined" ? "http://127.0.0.1:8000" : window.location.origin;
  if (!/^https?:\/\//.test(value)) throw new Error(`Sealchat must be served over http(s), not ${value}`);
  return value;
}

export const env = {
  apiUrl: origin(),
  /** How long to wait for a Socket.IO ack before calling a send failed. */
  ackTimeoutMs: 15_000,
  /** Messages per history page (the server caps pages at 200). */
  historyPageSize: 50,
  /** A data key seals at most this many messages, or for this long (docs/envelope.md §3). */
  dataKeyMaxMessages: 100,
  dataKeyMaxAgeMs: 60 * 60 * 1000,
  /** Unwrapped data keys kept in memory, least recently used dropped first. */
  maxUnwrappedKeys: 10_000,
  /** "typing" is resent at this interval while typing; others expire it after typingExpiryMs. */
  typingRefreshMs: 3_000,
  typingExpiryMs: 6_000,
} as const;

// The installable app: public/sw.js keeps the app shell for offline starts (never messages or
// API answers). Registered only in a built app on a secure origin, where browsers allow it.

export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !("serviceWorker" in navigator) || !window.isSecureContext) return;
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
      // Without it the app works the same, only not offline.
    });
  });
}

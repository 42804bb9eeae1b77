import { useSyncExternalStore } from "react";

/** The width below which the app takes its phone layout (keep in step with the CSS). */
export const PHONE_QUERY = "(max-width: 767px)";

/** Whether a CSS media query matches now, re-rendering when that changes. */
export function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (changed) => {
      const list = window.matchMedia(query);
      list.addEventListener("change", changed);
      return () => list.removeEventListener("change", changed);
    },
    () => window.matchMedia(query).matches,
  );
}

import { useEffect } from "react";

import type { Outbox } from "@/lib/outbox";

/**
 * While messages are unsent, leaving or reloading the page asks first (the browser's own
 * "Leave site?"). They are kept (IndexedDB) and go out on the next visit all the same, but
 * the person should know they have not left yet.
 */
export function useUnsentWarning(outbox: Outbox): void {
  useEffect(() => {
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      if (outbox.unsent() === 0) return;
      event.preventDefault();
      event.returnValue = ""; // older browsers need it set
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => window.removeEventListener("beforeunload", onBeforeUnload);
  }, [outbox]);
}

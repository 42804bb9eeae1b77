import { useState } from "react";

import { errorMessage } from "@/lib/errors";

/** Run an async action with busy and error state; `onDone` runs after success. */
export function useAsyncAction<Args extends unknown[]>(action: (...args: Args) => Promise<void>, onDone?: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (...args: Args) => {
    setBusy(true);
    setError(null);
    try {
      await action(...args);
      setBusy(false);
      onDone?.();
    } catch (caught) {
      setBusy(false);
      setError(errorMessage(caught));
    }
  };
  return { busy, error, run };
}

import { useEffect, useState, type DependencyList } from "react";

/**
 * A view model made when the deps change and disposed when they change again or the
 * component goes away (safe under StrictMode's double effects). Null on the first render.
 */
export function useDisposable<T extends { dispose(): void }>(create: () => T, deps: DependencyList): T | null {
  const [model, setModel] = useState<T | null>(null);
  useEffect(() => {
    const made = create();
    setModel(made);
    return () => {
      made.dispose();
      setModel(null);
    };
  }, deps);
  return model;
}

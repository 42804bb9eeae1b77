/**
 * State holder for view models: immutable snapshots, subscribe/getSnapshot for React's
 * useSyncExternalStore (see src/hooks/use-store.ts).
 */
export class Store<T extends object> {
  private listeners = new Set<() => void>();

  constructor(private state: T) {}

  readonly get = (): T => this.state;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  set(update: Partial<T> | ((state: T) => Partial<T>)): void {
    const patch = typeof update === "function" ? update(this.state) : update;
    this.state = { ...this.state, ...patch };
    for (const listener of [...this.listeners]) listener();
  }
}

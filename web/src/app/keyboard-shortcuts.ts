import { useEffect, useRef } from "react";

interface Shortcuts {
  /** Ctrl+K (Cmd+K on a Mac): the quick switcher. */
  onQuickSwitch: () => void;
  /** Alt+Up / Alt+Down: the previous or next room of the sidebar. */
  onAdjacentRoom: (step: 1 | -1) => void;
}

/** The app's global keys, active while no dialog is open (Escape is each dialog's own). */
export function useKeyboardShortcuts(shortcuts: Shortcuts): void {
  const latest = useRef(shortcuts);
  useEffect(() => {
    latest.current = shortcuts;
  });
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.isComposing || document.querySelector("dialog[open]")) return;
      if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "k") {
        event.preventDefault();
        latest.current.onQuickSwitch();
      } else if (event.altKey && !event.ctrlKey && !event.metaKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
        event.preventDefault();
        latest.current.onAdjacentRoom(event.key === "ArrowDown" ? 1 : -1);
      }
    };
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, []);
}

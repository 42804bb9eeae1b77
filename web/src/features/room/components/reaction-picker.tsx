import { useEffect, useRef } from "react";

/** A small fixed set, plus whatever the room already uses. */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢", "👀", "✅"];

interface Props {
  used: readonly string[];
  onPick: (key: string) => void;
  onClose: () => void;
}

/** The emoji picker under a message's "Add reaction": a group of buttons, Escape closes. */
export function ReactionPicker({ used, onPick, onClose }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const keys = [...QUICK_REACTIONS, ...used.filter((key) => !QUICK_REACTIONS.includes(key))];
  useEffect(() => {
    ref.current?.querySelector("button")?.focus();
    const onDown = (event: MouseEvent) => {
      if (ref.current && !ref.current.contains(event.target as Node)) onClose();
    };
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [onClose]);
  return (
    <div
      ref={ref}
      className="reaction-picker"
      role="group"
      aria-label="Pick a reaction"
      onKeyDown={(event) => {
        if (event.key === "Escape") onClose();
      }}
    >
      {keys.map((key) => (
        <button key={key} type="button" className="reaction-picker__option" aria-label={`React with ${key}`} onClick={() => onPick(key)}>
          {key}
        </button>
      ))}
    </div>
  );
}

import "@/components/avatar.css";

const HUES = [211, 262, 330, 12, 35, 150, 185, 290];

/** A round initial in a colour derived from the name (the same name, the same colour). */
export function Avatar({ name, size = "md", online }: { name: string; size?: "sm" | "md"; online?: boolean }) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  const hue = HUES[hash % HUES.length];
  return (
    <span className={`avatar avatar--${size} avatar--hue-${hue}`} aria-hidden="true">
      {name.slice(0, 1).toUpperCase() || "?"}
      {online !== undefined && <span className={`avatar__presence${online ? " avatar__presence--online" : ""}`} />}
    </span>
  );
}

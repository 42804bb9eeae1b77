import "@/components/progress-bar.css";

/** A determinate progress bar (role="progressbar", aria-valuenow 0 to max). */
export function ProgressBar({ label, value, max = 100, text }: { label: string; value: number; max?: number; text?: string }) {
  const clamped = Math.max(0, Math.min(max, Math.round(value)));
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={max}
      aria-valuenow={clamped}
      aria-valuetext={text}
    >
      <div className="progress__fill" style={{ width: `${max > 0 ? (clamped / max) * 100 : 0}%` }} />
    </div>
  );
}

import { useEffect, useId, useRef, useState, type ReactNode } from "react";

import { MoreIcon } from "@/components/icons";

/**
 * Actions behind one "More actions" button (the phone layout's header). A disclosure, not an
 * ARIA menu: the actions are ordinary buttons, reached with Tab; Escape or a click outside
 * closes it and puts focus back on the button.
 */
export function OverflowMenu({ label = "More actions", children }: { label?: string; children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  const root = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    const outside = (event: PointerEvent) => {
      // A dialog opened from the menu sits outside it; leave the menu alone meanwhile.
      if (!root.current?.contains(event.target as Node) && !document.querySelector("dialog[open]")) setOpen(false);
    };
    document.addEventListener("pointerdown", outside);
    root.current?.querySelector<HTMLElement>(".overflow-menu__items button")?.focus();
    return () => document.removeEventListener("pointerdown", outside);
  }, [open]);
  return (
    <div
      ref={root}
      className="overflow-menu"
      onKeyDown={(event) => {
        if (event.key === "Escape" && open && !document.querySelector("dialog[open]")) {
          event.stopPropagation();
          setOpen(false);
          toggle.current?.focus();
        }
      }}
    >
      <button ref={toggle} type="button" className="icon-button" aria-label={label} title={label} aria-expanded={open} aria-controls={id} onClick={() => setOpen(!open)}>
        <MoreIcon />
      </button>
      <div id={id} className="overflow-menu__items" hidden={!open}>
        {children}
      </div>
    </div>
  );
}

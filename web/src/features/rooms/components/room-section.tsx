import type { ReactNode } from "react";

import { PlusIcon } from "@/components/icons";

interface Props {
  title: string;
  addLabel: string;
  onAdd: () => void;
  empty: string;
  children: ReactNode[];
}

/** A titled group of rooms in the sidebar, with its "+" button. */
export function RoomSection({ title, addLabel, onAdd, empty, children }: Props) {
  return (
    <section className="room-section" aria-label={title}>
      <header className="room-section__header">
        <h2 className="room-section__title">{title}</h2>
        <button type="button" className="icon-button icon-button--sidebar" aria-label={addLabel} title={addLabel} onClick={onAdd}>
          <PlusIcon />
        </button>
      </header>
      {children.length ? <ul className="room-section__list">{children}</ul> : <p className="room-section__empty">{empty}</p>}
    </section>
  );
}

import { useId, useState, type KeyboardEvent } from "react";

import { AtIcon, HashIcon, LockIcon } from "@/components/icons";
import { FormError, Modal } from "@/components/modal";
import { useAsyncAction } from "@/hooks/use-async-action";
import { useStore } from "@/hooks/use-store";
import { sidebarOrder, type RoomListStore } from "@/features/rooms/stores/room-list-store";
import { roomTitle } from "@/lib/room-list";
import type { User } from "@/lib/types";

interface Choice {
  key: string;
  label: string;
  detail: string;
  icon: "room" | "private" | "person";
  open: () => Promise<void> | void;
}

const USERNAME = /^[a-z0-9][a-z0-9._-]{1,31}$/;

/** Ctrl/Cmd+K: type part of a room's or a person's name, Enter opens it. */
export function QuickSwitcher({ rooms, me, onChosen, onClose }: { rooms: RoomListStore; me: User; onChosen: () => void; onClose: () => void }) {
  const state = useStore(rooms.store);
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const listId = useId();
  const go = useAsyncAction(
    async (choice: Choice) => choice.open(),
    () => {
      onChosen();
      onClose();
    },
  );

  const needle = query.trim().toLowerCase().replace(/^[@#]/, "");
  const choices: Choice[] = sidebarOrder(state.rooms)
    .map((room): Choice => {
      const title = roomTitle(room, me.username);
      const person = room.visibility === "direct";
      return {
        key: room.id,
        label: title,
        detail: person ? "Direct message" : room.visibility === "private" ? "Private room" : "Public room",
        icon: person ? "person" : room.visibility === "private" ? "private" : "room",
        open: () => rooms.select(room.id),
      };
    })
    .filter((choice) => choice.label.toLowerCase().includes(needle));
  const known = choices.some((choice) => choice.icon === "person" && choice.label.toLowerCase() === needle);
  if (USERNAME.test(needle) && !known && needle !== me.username) {
    choices.push({ key: `dm:${needle}`, label: needle, detail: "Start a direct message", icon: "person", open: () => rooms.openDm(needle) });
  }
  const current = Math.min(active, Math.max(choices.length - 1, 0));

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (choices.length) setActive((current + (event.key === "ArrowDown" ? 1 : -1) + choices.length) % choices.length);
    } else if (event.key === "Enter") {
      event.preventDefault();
      const choice = choices[current];
      if (choice && !go.busy) void go.run(choice);
    }
  };
  const optionId = (index: number) => `${listId}-${index}`;

  return (
    <Modal title="Go to a room or person" onClose={onClose} className="modal--switcher">
      <input
        className="field__input switcher__input"
        role="combobox"
        aria-label="Room or person"
        aria-expanded={choices.length > 0}
        aria-controls={listId}
        aria-activedescendant={choices.length ? optionId(current) : undefined}
        aria-autocomplete="list"
        placeholder="Type a room or a person's name"
        autoCapitalize="none"
        spellCheck={false}
        value={query}
        onChange={(event) => {
          setQuery(event.target.value);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
      />
      <FormError message={go.error} />
      <ul id={listId} role="listbox" aria-label="Matches" className="switcher__list">
        {choices.map((choice, index) => {
          const Icon = choice.icon === "person" ? AtIcon : choice.icon === "private" ? LockIcon : HashIcon;
          return (
            <li
              key={choice.key}
              id={optionId(index)}
              role="option"
              aria-selected={index === current}
              className={`switcher__option${index === current ? " switcher__option--active" : ""}`}
              onMouseMove={() => setActive(index)}
              onClick={() => void go.run(choice)}
            >
              <Icon className="icon icon--small" />
              <span className="switcher__label">{choice.label}</span>
              <span className="switcher__detail">{choice.detail}</span>
            </li>
          );
        })}
        {choices.length === 0 && <li className="switcher__empty muted">Nothing matches.</li>}
      </ul>
      <p className="muted small switcher__hint">
        <kbd>↑</kbd> <kbd>↓</kbd> to choose, <kbd>Enter</kbd> to open, <kbd>Esc</kbd> to close · <kbd>Alt</kbd>+<kbd>↑</kbd>/<kbd>↓</kbd> previous or next room
      </p>
    </Modal>
  );
}

import { useId, useState, type FormEvent } from "react";

import { Modal } from "@/components/modal";
import { ProgressBar } from "@/components/progress-bar";
import { useStore } from "@/hooks/use-store";
import { DEPTHS, type SearchRow, type SearchStore } from "@/features/search/stores/search-store";
import { formatFull } from "@/lib/format-time";
import "@/features/search/components/search-dialog.css";

export interface SearchScope {
  /** The open room, when searching from it; null: all my rooms only. */
  room: { id: string; title: string } | null;
  allRoomIds: readonly string[];
}

interface Props {
  search: SearchStore;
  scope: SearchScope;
  /** Start in "all my rooms" even with a room open. */
  startAll?: boolean;
  onJump: (row: SearchRow) => void;
  onClose: () => void;
}

/** Search sealed history in the browser: words, where, how far back; progress and Cancel;
 * the results as a list that jumps to the message. */
export function SearchDialog({ search, scope, startAll = false, onJump, onClose }: Props) {
  const state = useStore(search.store);
  const [query, setQuery] = useState(state.query);
  const [where, setWhere] = useState<"room" | "all">(scope.room && !startAll ? "room" : "all");
  const [depth, setDepth] = useState<number>(1000);
  const resultsId = useId();
  const searching = state.status === "searching";
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const roomIds = where === "room" && scope.room ? [scope.room.id] : scope.allRoomIds;
    void search.search(query, roomIds, depth);
  };
  const title = where === "room" && scope.room ? `Search ${scope.room.title}` : "Search all rooms";
  return (
    <Modal title={title} onClose={onClose} className="modal--search">
      <form className="stack search__form" onSubmit={submit} role="search">
        <label className="field">
          <span className="field__label">Words to find</span>
          <input className="field__input" type="search" value={query} onChange={(event) => setQuery(event.target.value)} placeholder="Text or file name" aria-describedby={resultsId} />
        </label>
        <div className="search__options">
          <label className="field">
            <span className="field__label">Where</span>
            <select className="field__input" value={where} onChange={(event) => setWhere(event.target.value as "room" | "all")}>
              {scope.room && <option value="room">This room ({scope.room.title})</option>}
              <option value="all">All my rooms</option>
            </select>
          </label>
          <label className="field">
            <span className="field__label">How far back</span>
            <select className="field__input" value={depth} onChange={(event) => setDepth(Number(event.target.value))}>
              {DEPTHS.map((count) => (
                <option key={count} value={count}>
                  Last {count.toLocaleString()} messages{where === "all" ? " per room" : ""}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className="form-actions">
          <button type="submit" className="button button--primary" disabled={searching || query.trim() === ""}>
            Search
          </button>
          {searching && (
            <button type="button" className="button button--secondary" onClick={() => search.cancel()}>
              Cancel search
            </button>
          )}
        </div>
      </form>
      <p className="search__note">Messages are opened in your browser to be searched; the server cannot read them. Nothing is kept after you sign out or reload.</p>
      {searching && (
        <div className="search__progress">
          <ProgressBar
            label="Opening history"
            value={state.opened}
            max={state.most}
            text={`${state.opened} of up to ${state.most} messages opened`}
          />
          <span>
            Opened {state.opened.toLocaleString()} messages{state.roomsTotal > 1 ? ` (${state.roomsDone} of ${state.roomsTotal} rooms done)` : ""}…
          </span>
        </div>
      )}
      <p id={resultsId} className="search__status" role="status">
        {statusText(state.status, state.rows.length, state.opened, state.error)}
      </p>
      {state.rows.length > 0 && (
        <ul className="search__results" aria-label="Search results">
          {state.rows.map((row) => (
            <li key={row.key}>
              <SearchResult row={row} showRoom={state.roomsTotal > 1} onJump={onJump} />
            </li>
          ))}
        </ul>
      )}
    </Modal>
  );
}

function statusText(status: string, results: number, opened: number, error: string | null): string {
  const found = `${results} ${results === 1 ? "result" : "results"}`;
  switch (status) {
    case "searching":
      return results ? `${found} so far` : "";
    case "done":
      return `${found} in ${opened.toLocaleString()} messages searched`;
    case "cancelled":
      return `Search cancelled: ${found}`;
    case "failed":
      return `Search failed: ${error ?? "unknown error"}`;
    default:
      return "";
  }
}

function SearchResult({ row, showRoom, onJump }: { row: SearchRow; showRoom: boolean; onJump: (row: SearchRow) => void }) {
  return (
    <button type="button" className="search-result" onClick={() => onJump(row)}>
      <span className="search-result__meta">
        {showRoom && <span className="search-result__room">{row.roomTitle} · </span>}
        <strong>{row.senderName}</strong> · <time dateTime={row.time}>{formatFull(row.time)}</time>
      </span>
      {row.before.map((line, index) => (
        <span key={`b${index}`} className="search-result__context">
          {line.senderName}: {line.text}
        </span>
      ))}
      <span className="search-result__text">
        {row.isFile && "File: "}
        {row.parts.map((part, index) => (part.match ? <mark key={index}>{part.text}</mark> : <span key={index}>{part.text}</span>))}
      </span>
      {row.after.map((line, index) => (
        <span key={`a${index}`} className="search-result__context">
          {line.senderName}: {line.text}
        </span>
      ))}
    </button>
  );
}

// How far a member has read, for the member panel: from GET /api/rooms/{id}/members'
// last_read_seq (null or absent in rooms above 50 members: then nothing is said).

/**
 * "seen the latest", "3 behind" (messages shown after their read marker), or "3+ behind"
 * when older messages are not loaded; null when the server does not say.
 */
export function seenLabel(lastReadSeq: number | null | undefined, shownSeqs: readonly number[], hasOlder: boolean): string | null {
  if (lastReadSeq === null || lastReadSeq === undefined) return null;
  const unseen = shownSeqs.filter((seq) => seq > lastReadSeq).length;
  if (unseen === 0) return "seen the latest";
  const oldest = Math.min(...shownSeqs);
  const maybeMore = hasOlder && oldest > lastReadSeq + 1;
  return `${unseen}${maybeMore ? "+" : ""} behind`;
}

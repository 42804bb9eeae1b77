// The last seq read per room, kept in localStorage per account so unread counts survive a
// reload. Holds room ids and numbers only, never message content.

export class ReadMarkers {
  private readonly key: string;
  private markers: Record<string, number>;

  constructor(userId: string) {
    this.key = `sealchat:read:${userId}`;
    this.markers = load(this.key);
  }

  get(roomId: string): number | undefined {
    return this.markers[roomId];
  }

  set(roomId: string, seq: number): void {
    if ((this.markers[roomId] ?? -1) >= seq) return;
    this.markers = { ...this.markers, [roomId]: seq };
    this.save();
  }

  forget(roomId: string): void {
    const { [roomId]: _, ...rest } = this.markers;
    this.markers = rest;
    this.save();
  }

  private save(): void {
    try {
      localStorage.setItem(this.key, JSON.stringify(this.markers));
    } catch {
      // Storage full or disabled: unread counts just start over next time.
    }
  }
}

function load(key: string): Record<string, number> {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(key) ?? "{}");
    return typeof value === "object" && value !== null ? (value as Record<string, number>) : {};
  } catch {
    return {};
  }
}

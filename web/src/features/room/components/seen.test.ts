import { describe, expect, it } from "vitest";

import { seenLabel } from "@/features/room/components/seen";

describe("seenLabel", () => {
  it("says nothing when the server does not tell (rooms above 50 members)", () => {
    expect(seenLabel(null, [1, 2, 3], false)).toBeNull();
    expect(seenLabel(undefined, [1, 2, 3], false)).toBeNull();
  });

  it("says a member has seen the latest message", () => {
    expect(seenLabel(3, [1, 2, 3], false)).toBe("seen the latest");
    // A reaction after the last message moves the marker past it.
    expect(seenLabel(5, [1, 2, 3], false)).toBe("seen the latest");
    expect(seenLabel(0, [], false)).toBe("seen the latest");
  });

  it("counts the shown messages after the member's read marker", () => {
    expect(seenLabel(1, [1, 2, 3], false)).toBe("2 behind");
    expect(seenLabel(0, [1, 2, 3], false)).toBe("3 behind");
  });

  it("says there may be more when older messages are not loaded", () => {
    expect(seenLabel(2, [40, 41], true)).toBe("2+ behind");
    expect(seenLabel(39, [40, 41], true)).toBe("2 behind");
  });
});

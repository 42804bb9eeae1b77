"""Use cases: the only code that changes state. Commit first, then publish events."""

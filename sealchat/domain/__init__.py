"""Plain data and rules. Imports no framework and no adapter."""

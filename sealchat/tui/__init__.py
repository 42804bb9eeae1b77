"""The full-screen terminal client (``sealchat tui``), built with Textual."""

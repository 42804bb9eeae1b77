"""Concrete implementations of the ports. Only ``sealchat.wiring`` picks one."""

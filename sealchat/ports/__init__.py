"""Interfaces the services depend on. Adapters implement them; wiring picks one."""

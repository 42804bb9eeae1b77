"""HTTP routes and Socket.IO handlers: parse, authenticate, call a service, shape the reply."""

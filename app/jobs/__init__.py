"""Background jobs. Like a request, each job is an edge: it owns its transactions."""

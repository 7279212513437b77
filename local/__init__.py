"""Local mode: the program's HTTP API, functions and bucket served on loopback, from its graph."""

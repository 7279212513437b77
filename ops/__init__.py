"""Operating a deployed stack: commands an on-call engineer runs (see docs/operations.md)."""

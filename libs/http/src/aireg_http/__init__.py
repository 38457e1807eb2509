"""The HTTP conventions every aireg service shares: JSON errors, paginated lists, bearer tokens, limits,
health and metrics (CONTRACT.md). One place, so that the three services answer alike."""

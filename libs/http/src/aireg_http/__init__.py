"""The HTTP conventions every aireg service shares: JSON errors, paginated lists, bearer tokens, limits,
health and metrics (docs/contract.md). One place, so that the three services answer alike."""

"""The aireg event contract: envelope, catalogue, canonical JSON, hash chain, and the log machinery."""

"""The log machinery every service shares: tables, database, appender (group commit), relay, inbox, DLQ."""

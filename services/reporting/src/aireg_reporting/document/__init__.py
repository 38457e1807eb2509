"""The package document for the government: its content folded from the events up to a moment
(:mod:`.content`), and its renderings as JSON, Markdown, HTML, CSV and PDF, each carrying the manifest."""

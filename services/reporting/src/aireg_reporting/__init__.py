"""The reporting service: read models only (statistics, timelines, package documents, live stream,
dashboard). It emits nothing; everything it holds can be dropped and rebuilt from the topics."""

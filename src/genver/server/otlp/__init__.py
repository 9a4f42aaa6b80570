"""OTLP/HTTP trace ingest (``POST /v1/traces``): any OpenTelemetry SDK's OTLP/HTTP exporter can
send spans to a genver server.

``codec`` reads and writes the bodies (protobuf or OTLP/JSON, gzip), ``convert`` turns OTLP spans
into genver traces (pure), ``ingest`` checks their links and merges them into the store
(``Store.merge_traces``: a trace's spans may arrive over several requests).
"""

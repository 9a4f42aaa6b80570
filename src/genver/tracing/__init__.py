"""Tracing on OpenTelemetry: the ``@trace`` decorator, live spans, the background exporter and its
disk spool. The public API is on ``genver`` (``genver.trace``, ``genver.start_span``...); modules
here load the OpenTelemetry SDK only when the first span starts.
"""

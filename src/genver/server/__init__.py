"""The genver server: ``create_app(store)`` serves the Store interface over REST (FastAPI).

FastAPI is imported only from ``genver.server.app``, so ``genver.wire`` stays usable by
the REST store without loading the web stack.
"""

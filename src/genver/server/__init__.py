"""The genver server: ``create_app(store)`` serves the Store interface over REST (FastAPI).

FastAPI is imported only from ``genver.server.app``, so ``genver.wire`` stays usable by
the REST store without loading the web stack.
"""

#: How the server names its store in messages to remote callers (never its database URI).
SERVER_NAME = "this genver server"

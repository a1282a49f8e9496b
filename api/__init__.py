"""The FastAPI application and the ``ntm`` command line."""

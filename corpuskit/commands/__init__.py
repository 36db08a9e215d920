"""Command groups of the ``corpuskit`` CLI, one module each with a ``register(subparsers)`` function."""

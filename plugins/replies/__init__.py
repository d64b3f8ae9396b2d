from .replies import register  # noqa: F401

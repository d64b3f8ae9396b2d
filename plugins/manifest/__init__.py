from .manifest import register  # noqa: F401

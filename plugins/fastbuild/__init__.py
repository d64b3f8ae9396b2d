from .fastbuild import register  # noqa: F401

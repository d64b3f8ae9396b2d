from .share_links import register  # noqa: F401

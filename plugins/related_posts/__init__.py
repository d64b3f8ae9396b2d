from .related_posts import register  # noqa: F401

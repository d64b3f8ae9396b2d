from .post_nav import register  # noqa: F401

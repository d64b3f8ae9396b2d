from .post_ids import register  # noqa: F401

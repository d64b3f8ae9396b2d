from .social_meta import register  # noqa: F401

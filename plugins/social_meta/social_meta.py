"""social_meta plugin (placeholder until implemented)."""


def register():
    pass

"""content_checks plugin (placeholder until implemented)."""


def register():
    pass

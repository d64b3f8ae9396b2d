"""reading_time plugin (placeholder until implemented)."""


def register():
    pass

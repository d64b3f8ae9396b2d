"""replies plugin (placeholder until implemented)."""


def register():
    pass

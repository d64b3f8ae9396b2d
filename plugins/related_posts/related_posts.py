"""related_posts plugin (placeholder until implemented)."""


def register():
    pass

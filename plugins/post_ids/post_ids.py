"""post_ids plugin (placeholder until implemented)."""


def register():
    pass

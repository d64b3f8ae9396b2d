"""share_links plugin (placeholder until implemented)."""


def register():
    pass

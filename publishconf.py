"""Production settings: `invoke publish` and `invoke preview` use this file."""

import os
import sys

sys.path.append(os.curdir)
from pelicanconf import *  # noqa: F403

SITEURL = os.environ.get("SITEURL", "https://frontporch.example")
RELATIVE_URLS = False
DELETE_OUTPUT_DIRECTORY = True

# How `invoke publish` deploys output/: "github-pages", "rsync", "dir" or "none".
DEPLOY = os.environ.get("DEPLOY", "none")
DEPLOY_RSYNC_TARGET = os.environ.get("DEPLOY_RSYNC_TARGET", "")
DEPLOY_DIR = os.environ.get("DEPLOY_DIR", "")
DEPLOY_KEEP_RELEASES = int(os.environ.get("DEPLOY_KEEP_RELEASES", "5"))

COMMENTS_ISSO_URL = os.environ.get("ISSO_URL", "https://comments.frontporch.example/")

# Clean URLs in production: ".../slug/" rather than ".../slug/index.html".
for _name, _value in list(globals().items()):
    if _name.endswith("_URL") and isinstance(_value, str) and _value.endswith("/index.html"):
        globals()[_name] = _value[: -len("index.html")]
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)

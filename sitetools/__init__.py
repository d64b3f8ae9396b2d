"""Build-side helpers behind tasks.py: new posts, checks, Isso, deploy, the git hook."""

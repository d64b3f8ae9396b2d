"""Channel adapters, listed in one place. Each module defines one `Channel` subclass.

Adapters are imported lazily, by name, so a missing optional dependency of one channel
(or a channel not written yet) never breaks the others. `SYNDICATE_EXTRA_CHANNELS`
({"name": "package.module:ClassName"}) adds adapters kept outside this package.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from syndicate.channels.base import Channel
from syndicate.errors import ConfigError

# name → module (inside this package) defining the adapter; the order is the run order.
CHANNELS: dict[str, str] = {
    "mailchimp": "syndicate.channels.mailchimp",
    "mastodon": "syndicate.channels.mastodon",
    "bluesky": "syndicate.channels.bluesky",
    "x": "syndicate.channels.x",
    "linkedin": "syndicate.channels.linkedin",
}
# Channels that send email rather than social posts (`Newsletter:` applies to them).
EMAIL_CHANNELS = frozenset({"mailchimp"})


class ChannelUnavailable(ConfigError):
    """The adapter module (or one of its dependencies) cannot be imported."""


def known(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    names = dict(CHANNELS)
    names.update(extra or {})
    return names


def load(name: str, extra: Mapping[str, str] | None = None) -> type[Channel]:
    """The adapter class for `name`; ConfigError if the name is unknown."""
    targets = known(extra)
    if name not in targets:
        raise ConfigError(
            f"unknown channel {name!r}",
            hint=f"valid channels: {', '.join(targets)}",
        )
    module_name, _, class_name = targets[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ChannelUnavailable(
            f"the {name} adapter cannot be loaded ({e})",
            channel=name,
            hint="install the `publish` dependency group",
        ) from e
    if class_name:
        return getattr(module, class_name)
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, Channel)
            and value is not Channel
            and value.__module__ == module.__name__
        ):
            return value
    raise ChannelUnavailable(f"{module_name} defines no Channel subclass", channel=name)


def is_email(cls: type[Channel]) -> bool:
    return bool(getattr(cls, "email", False)) or cls.name in EMAIL_CHANNELS

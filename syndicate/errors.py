"""The one exception tree of the syndication package.

Transient errors (network, timeouts, 429, 5xx) may be retried with a capped
backoff; permanent ones (400/401/403/404/422, bad configuration) never are.
Every error keeps its cause (`raise ... from e`) and never carries a secret.
"""


class SyndicateError(Exception):
    """Base class. `post` and `channel` say what failed, `hint` what to do."""

    def __init__(self, message, *, post=None, channel=None, hint=None, service_text=None):
        super().__init__(message)
        self.message = message
        self.post = post
        self.channel = channel
        self.hint = hint
        self.service_text = service_text

    def __str__(self):
        parts = []
        if self.post:
            parts.append(f"post {self.post!r}")
        if self.channel:
            parts.append(f"channel {self.channel}")
        where = f"[{', '.join(parts)}] " if parts else ""
        text = f"{where}{self.message}"
        if self.service_text:
            text += f" (service said: {self.service_text})"
        if self.hint:
            text += f" — {self.hint}"
        return text


class ConfigError(SyndicateError):
    """Settings or environment are wrong; nothing was sent."""


class ManifestError(SyndicateError):
    """The manifest the build wrote is missing or unreadable."""


class LedgerError(SyndicateError):
    """The ledger file is unreadable or would be corrupted."""


class TransientError(SyndicateError):
    """Worth retrying later: network failure, timeout, 429 or 5xx.

    `retry_after` is the number of seconds the service asked us to wait, if it said.
    """

    def __init__(self, message, *, retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """The service answered 429 or its rate-limit headers say we are out of calls."""


class PermanentError(SyndicateError):
    """Retrying cannot help: 400/401/403/404/422 or content the service refuses."""


class AuthError(PermanentError):
    """Credentials are missing, wrong or expired."""

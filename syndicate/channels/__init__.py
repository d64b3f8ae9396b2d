"""Channel adapters, listed in one place. Each module defines one `Channel` subclass."""

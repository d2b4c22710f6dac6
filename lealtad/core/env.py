"""Reading configuration from the environment, the one way every setting and command does it.

An empty value means the default: `.env.example` lists every variable with `NAME=` for "use the
default", and an env file or a container's `environment:` passes those through as empty strings.
A value that is set but wrong stops start-up with a message that names the variable.
No Django imports: settings.py uses this before Django is configured.
"""

import os
from pathlib import Path

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


class BadSetting(ValueError):
    """Raised as ImproperlyConfigured by settings; `lealtad serve` prints it and exits."""


def env(name: str, default: str = "") -> str:
    value = os.environ.get(name, "").strip()
    return value if value else default


def env_bool(name: str, default: bool) -> bool:
    value = env(name).lower()
    if not value:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise BadSetting(f"{name} must be true or false (1/0, yes/no, on/off), not {value!r}")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    value = env(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadSetting(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise BadSetting(f"{name} must be at least {minimum}, not {number}")
    return number


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    return Path(env(name)) if env(name) else default


def env_seconds_list(name: str) -> list[int] | None:
    """A comma-separated list of whole seconds, each at least 1 ("5,60,300"); None when unset."""
    value = env(name)
    if not value:
        return None
    try:
        numbers = [int(item) for item in value.split(",") if item.strip()]
    except ValueError:
        message = f"{name} must be whole seconds separated by commas, not {value!r}"
        raise BadSetting(message) from None
    if not numbers or min(numbers) < 1:
        raise BadSetting(f"{name} must list at least one delay, each at least 1 second")
    return numbers

import uuid

from lealtad.core.errors import NotFound


def parse_id(value, what: str = "object") -> uuid.UUID:
    """An id from a URL or body; anything that is not a UUID is simply not found."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise NotFound(f"{what} not found") from None

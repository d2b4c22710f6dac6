"""What any request may carry, checked once before any view sees it.

PostgreSQL refuses a NUL in text ("A string literal cannot contain NUL"), Python's JSON parser
recurses once per nesting level, and Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE with an
exception a view does not expect: each was a 500 somewhere. The API and the screens share these
rules; the API says them as problem+json, the screens as a page in the user's language.
"""

import json
import re

# C0 controls and DEL, except tab, line feed and carriage return (which people paste into a
# description or a reason). No one types the others; a NUL breaks PostgreSQL.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Our bodies are two levels deep; 32 leaves room for whatever comes and stops the recursion bomb.
MAX_DEPTH = 32


class TooDeep(ValueError):
    pass


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def load_json(body: bytes):
    """json.loads, refusing nesting deeper than MAX_DEPTH (TooDeep) before the parser recurses.

    The scan counts brackets outside strings; it never recurses, so it stands 100,000 levels.
    """
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return json.loads(body)  # the usual body: too few brackets to be too deep
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels")
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return json.loads(body)


def fields_with_control(data, path: str = "") -> list[str]:
    """The dotted path of every key or string in parsed JSON that holds a control character."""
    found = []
    stack = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if has_control(value):
                found.append(where or "body")
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{where}.{key}" if where else str(key)
                if has_control(str(key)):
                    found.append(where or "body")
                    continue
                stack.append((name, item))
        elif isinstance(value, list):
            stack.extend((f"{where}.{i}" if where else str(i), v) for i, v in enumerate(value))
    return sorted(found)


def is_number(text: str) -> bool:
    """Whether int() reads the text: decimal digits only. str.isdigit() is not that test: it is
    true for superscripts and other digit signs ("¹", "²") that int() refuses, which was a 500."""
    return text.isdecimal()


def digits(text, most: int) -> str:
    """The decimal digits a person typed into a code, as ASCII ("１２３" from a phone's wide
    keyboard is "123"), at most `most` of them; anything else is dropped."""
    return "".join(str(int(ch)) for ch in str(text or "") if ch.isdecimal())[:most]

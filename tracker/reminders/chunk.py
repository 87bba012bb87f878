"""What the readers of one chunk of sends share, computed once per chunk (an event email's
text, a signed link's parts); forgotten when the chunk ends.
"""

import contextlib
import contextvars
from collections.abc import Callable
from typing import Any

# Within one chunk of sends, what readers share (an event email's text, rendered once for every
# reader of the same occurrence and lead time in the same language) is worked out once
# (reminders_send); elsewhere nothing is kept.
_shared_parts: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "reminder_shared_parts", default=None
)


@contextlib.contextmanager
def _message_cache():
    token = _shared_parts.set({})
    try:
        yield
    finally:
        _shared_parts.reset(token)


def _shared(key: tuple, compute: Callable[[], Any]) -> Any:
    parts = _shared_parts.get()
    if parts is None:
        return compute()
    if key not in parts:
        parts[key] = compute()
    return parts[key]

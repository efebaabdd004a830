"""Authentication: who may call the protected routes."""

from typing import Any

# openapi_extra of an operation anyone may call: it says so to clients, as an empty
# security requirement.
PUBLIC: dict[str, Any] = {"security": []}

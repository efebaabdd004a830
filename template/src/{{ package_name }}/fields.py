"""Field types shared by every domain's schemas: the API accepts only what the database stores.

A value a column cannot hold would fail in the database, as a server error; refused here, it
is a 422 that names the field, and the OpenAPI schema tells clients the bounds. (Pydantic
already refuses strings with lone surrogates, which UTF-8 cannot encode.)
"""

from typing import Annotated

from pydantic import BeforeValidator, Field

# INTEGER is 32 bits in PostgreSQL (64 in SQLite): ids and counts stay within the smaller.
INT_MAX = 2**31 - 1
# PostgreSQL text cannot hold NUL.
NO_NUL = r"^[^\x00]*$"

Id = Annotated[int, Field(ge=1, le=INT_MAX)]


def json_integer(value: object) -> object:
    """What JSON Schema calls an integer (``3``, ``3.0``), refusing what Pydantic's lax mode
    would take for one: ``true``, ``"3"``."""
    if isinstance(value, bool | str):
        msg = "must be an integer"
        raise ValueError(msg)  # Pydantic reports a ValueError as a 422
    return value


# A count in a request body.
Count = Annotated[int, Field(ge=0, le=INT_MAX), BeforeValidator(json_integer)]
Text = Annotated[str, Field(pattern=NO_NUL)]

"""Field types shared by every domain's schemas: the API accepts only what the database stores.

A value a column cannot hold would fail in the database, as a server error; refused here, it
is a 422 that names the field, and the OpenAPI schema tells clients the bounds. (Pydantic
already refuses strings with lone surrogates, which UTF-8 cannot encode.)
"""

from typing import Annotated

from pydantic import Field

# INTEGER is 32 bits in PostgreSQL (64 in SQLite): ids and counts stay within the smaller.
INT_MAX = 2**31 - 1
# PostgreSQL text cannot hold NUL.
NO_NUL = r"^[^\x00]*$"

Id = Annotated[int, Field(ge=1, le=INT_MAX)]
Count = Annotated[int, Field(ge=0, le=INT_MAX)]
Text = Annotated[str, Field(pattern=NO_NUL)]

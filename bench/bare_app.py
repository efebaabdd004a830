"""The yardstick for ``bench/service.py``: the generated routes' shapes, written by hand.

One file, no settings, no middleware, no auth, an in-memory list: what FastAPI itself costs for
``GET /health``, ``GET /items``, ``GET /items/{item_id}`` and ``POST /items``.
Serve it with ``uvicorn bench.bare_app:app``.
"""

from fastapi import FastAPI, HTTPException, status
from pydantic import BaseModel, Field

app = FastAPI()


class ItemCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    quantity: int = Field(default=0, ge=0)


class ItemRead(ItemCreate):
    id: int


class ItemPage(BaseModel):
    items: list[ItemRead]
    total: int
    skip: int
    limit: int


items: list[ItemRead] = [ItemRead(id=1, name="first", quantity=1)]


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/items")
def list_items(skip: int = 0, limit: int = 20) -> ItemPage:
    return ItemPage(items=items[skip : skip + limit], total=len(items), skip=skip, limit=limit)


@app.get("/items/{item_id}")
def read_item(item_id: int) -> ItemRead:
    for item in items:
        if item.id == item_id:
            return item
    raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Item not found")


@app.post("/items", status_code=status.HTTP_201_CREATED)
def create_item(data: ItemCreate) -> ItemRead:
    item = ItemRead(id=len(items) + 1, **data.model_dump())
    items.append(item)
    return item

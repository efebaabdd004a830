from pydantic import BaseModel, Field

# Neither allows NUL (see fields.py).
EMAIL_PATTERN = r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"
SINGLE_LINE = r"^[^\r\n\x00]*$"


class NotificationCreate(BaseModel):
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    message: str = Field(min_length=1, max_length=1000, pattern=SINGLE_LINE)


class NotificationAccepted(BaseModel):
    detail: str

from pydantic import BaseModel, Field

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
SINGLE_LINE = r"^[^\r\n]*$"


class NotificationCreate(BaseModel):
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    message: str = Field(min_length=1, max_length=1000, pattern=SINGLE_LINE)


class NotificationAccepted(BaseModel):
    detail: str

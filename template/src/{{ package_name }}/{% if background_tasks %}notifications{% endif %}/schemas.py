from pydantic import BaseModel, Field

# Neither allows NUL (see fields.py). No space or control character in an address, spelled
# out: what \s matches differs between Python, JavaScript and Pydantic's regex engine.
EMAIL_PATTERN = r"^[^@\x00-\x20]+@[^@\x00-\x20]+\.[^@\x00-\x20]+$"
SINGLE_LINE = r"^[^\r\n\x00]*$"


class NotificationCreate(BaseModel):
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    message: str = Field(min_length=1, max_length=1000, pattern=SINGLE_LINE)


class NotificationAccepted(BaseModel):
    detail: str

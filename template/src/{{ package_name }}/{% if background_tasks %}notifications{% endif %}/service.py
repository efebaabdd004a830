from pathlib import Path


def write_notification(log_file: Path, email: str, message: str) -> None:
    """Append one notification line; runs after the response has been sent."""
    with log_file.open("a", encoding="utf-8") as log:
        log.write(f"notification for {email}: {message}\n")

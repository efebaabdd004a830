"""What a rendered variant is, for comparing two renders: each file's path, mode and contents.

Two renders of one variant from one template differ only where Copier records where it
rendered from (``_src_path``, ``_commit`` in the answers file) and in the random secrets of
``.env``; both are masked, so equal trees are equal fingerprints and one changed byte, name
or executable bit is a different one.
"""

import hashlib
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

ANSWERS_FILE = ".copier-answers.yml"
SECRETS_FILE = ".env"
_WHERE_FROM = re.compile(rb"^(_src_path|_commit):.*$", re.MULTILINE)
_SECRET = re.compile(rb"^([A-Za-z_][A-Za-z0-9_]*)=.*$", re.MULTILINE)

Entries = Mapping[str, str]  # path (posix, relative) -> "<mode> <sha256 of contents>"


def entries(tree: Path) -> dict[str, str]:
    """Every file and symbolic link under ``tree`` (and empty folders, as ``path/``), sorted.

    A file's mode is git's: 755 when its owner may run it, else 644 (the umask of the machine
    that rendered it is no part of the template).
    """
    found: dict[str, str] = {}
    for folder, names, files in os.walk(tree):
        here = Path(folder)
        relative = here.relative_to(tree).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        if not names and not files and prefix:
            found[prefix] = "dir"
        for name in sorted(names):  # a link to a folder is listed, not followed
            if (here / name).is_symlink():
                found[prefix + name] = "120000 " + _digest(os.readlink(here / name).encode())
        for name in files:
            path = here / name
            if path.is_symlink():
                found[prefix + name] = "120000 " + _digest(os.readlink(path).encode())
                continue
            mode = "755" if path.stat().st_mode & stat.S_IXUSR else "644"
            found[prefix + name] = f"{mode} {_digest(_masked(prefix + name, path.read_bytes()))}"
    return dict(sorted(found.items()))


def fingerprint(tree: Path) -> str:
    """One sha256 over :func:`entries`: equal exactly when the trees are equal."""
    return fingerprint_of(entries(tree))


def fingerprint_of(found: Entries) -> str:
    listing = "".join(f"{path}\0{entry}\n" for path, entry in found.items())
    return _digest(listing.encode())


def _masked(relative: str, contents: bytes) -> bytes:
    if relative == ANSWERS_FILE:
        return _WHERE_FROM.sub(rb"\1: <masked>", contents)
    if relative == SECRETS_FILE:
        return _SECRET.sub(rb"\1=<masked>", contents)
    return contents


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

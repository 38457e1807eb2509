"""The release a program is: the version in its package's metadata (the workspace packages all carry the
same one, CHANGELOG.md's latest entry), which `aireg --version` prints and every `/health` reports."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def release(distribution: str = "aireg-http") -> str:
    """The version of an installed aireg package (``aireg-submission``...); aireg-http's for any other name."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return version("aireg-http")

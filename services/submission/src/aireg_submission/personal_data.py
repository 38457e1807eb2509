"""Personal data of the people behind proposals: sealed (AES-256-GCM) under a key per data subject, found
by a keyed digest of the normalized contact e-mail, and erased by destroying the key.

The keys live in this service's own tables (``data_subject_key``), outside the log and never on a topic,
and apart from the state tables: ``aireg rebuild submission`` never touches them (in production a KMS
would hold them). The digest secret (HMAC-SHA-256) comes from ``AIREG_DIGEST_SECRET_FILE``, or, when that
is not set, from this service's database (``digest_secret``, created at the first start).

A value is sealed with a nonce derived from its key, its purpose (the field) and its text (HMAC), so the
same text seals to the same bytes: an amendment that repeats the submitter changes nothing, a rebuild
stores the very same JSON, and a (key, nonce) pair never covers two texts.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, LargeBinary, MetaData, delete, insert, select
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.catalogue.common import SubmitterKind
from aireg_events.catalogue.submission import SealedSubmitter, Submitter
from aireg_events.envelope import new_event_id
from aireg_events.log.columns import UtcTimestamp
from aireg_events.log.database import Database
from aireg_events.sealed import SealedValue

logger = logging.getLogger(__name__)

KEY_BYTES = 32
SECRET_BYTES = 32


class KeyTable(SQLModel, registry=registry(metadata=MetaData())):
    """Base of the key tables: metadata of their own, apart from the state tables a rebuild drops."""


class DataSubjectKeyRow(KeyTable, table=True):
    """The key of one data subject (a normalized contact e-mail, named by its keyed digest only)."""

    __tablename__ = "data_subject_key"

    key_id: str = Field(primary_key=True, max_length=36)
    subject_digest: str = Field(max_length=64, unique=True)
    key: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))


class DigestSecretRow(KeyTable, table=True):
    """The digest secret when no ``AIREG_DIGEST_SECRET_FILE`` is set: one row."""

    __tablename__ = "digest_secret"

    secret_id: int = Field(primary_key=True)
    secret: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))


key_metadata = KeyTable.metadata
_KEYS = DataSubjectKeyRow.__table__  # type: ignore[attr-defined]
_NOT_YET_REMOVABLE = re.compile(r"(\d+) are dead but not yet removable|tuples missed: (\d+) dead")
"""What VACUUM (VERBOSE) could not remove: row versions an older transaction may see, or on pages whose
cleanup lock it could not take."""
_SECRET = DigestSecretRow.__table__  # type: ignore[attr-defined]


class SealedValueUnreadable(ValueError):
    """A sealed value does not open with the key it names (tampered, or sealed for another field)."""


def normalized_email(email: str) -> str:
    """The data subject an e-mail names: trimmed and lower-cased (``Office@X.org`` is ``office@x.org``)."""
    return email.strip().lower()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def seal(key_id: str, key: bytes, purpose: str, plain: str) -> SealedValue:
    """``plain`` encrypted under ``key``; ``purpose`` (the field) is bound in as associated data."""
    associated = f"{key_id}\x00{purpose}".encode()
    data = plain.encode()
    nonce = hmac.new(key, b"aireg-nonce\x00" + associated + b"\x00" + data, hashlib.sha256).digest()[:12]
    return SealedValue.of(key_id, _b64(nonce), _b64(AESGCM(key).encrypt(nonce, data, associated)))


def unseal(key: bytes, value: SealedValue, purpose: str) -> str:
    key_id, nonce, ciphertext = value.parts()
    associated = f"{key_id}\x00{purpose}".encode()
    try:
        return AESGCM(key).decrypt(_unb64(nonce), _unb64(ciphertext), associated).decode()
    except (InvalidTag, ValueError):
        raise SealedValueUnreadable(f"a sealed {purpose} does not open with its key") from None


def sealed_key_ids(values: Iterable[object]) -> set[str]:
    """The key ids that the sealed values among ``values`` name."""
    return {value.key_id for value in values if isinstance(value, SealedValue) and value.key_id}


def submitter_key_ids(submitter: SealedSubmitter) -> set[str]:
    return sealed_key_ids((submitter.name, submitter.registration_number, submitter.contact_email))


class DataSubjects:
    """Seals and opens personal data, and destroys a subject's key. Holds the digest secret only; the
    keys are read from the session of the caller's unit of work, so a key is created in the transaction
    that records the first value sealed under it."""

    def __init__(self, digest_secret: bytes | None = None) -> None:
        self.digest_secret = digest_secret
        """Set at start-up (:func:`digest_secret`) when it comes from the database."""

    def digest(self, text: bytes) -> str:
        """HMAC-SHA-256 under the digest secret (hex): fingerprints that reveal nothing without it."""
        if self.digest_secret is None:
            raise RuntimeError("the digest secret is not loaded yet")
        return hmac.new(self.digest_secret, text, hashlib.sha256).hexdigest()

    def subject_digest(self, email: str) -> str:
        return self.digest(b"data-subject\x00" + normalized_email(email).encode())

    async def key(self, session: AsyncSession, subject_digest: str, now: datetime) -> tuple[str, bytes]:
        """The subject's key, created if it has none (again after an erasure: a new key, a new id)."""
        result = await session.execute(
            select(_KEYS.c.key_id, _KEYS.c.key).where(_KEYS.c.subject_digest == subject_digest)
        )
        row = result.first()
        if row is not None:
            return str(row[0]), bytes(row[1])
        key_id, key = new_event_id(), AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        await session.execute(
            insert(_KEYS).values(key_id=key_id, subject_digest=subject_digest, key=key, created_at=now)
        )
        return key_id, key

    async def key_by_id(self, session: AsyncSession, key_id: str) -> bytes | None:
        result = await session.execute(select(_KEYS.c.key).where(_KEYS.c.key_id == key_id))
        key = result.scalar_one_or_none()
        return bytes(key) if key is not None else None

    async def keys(self, session: AsyncSession, key_ids: Iterable[str]) -> dict[str, bytes]:
        wanted = sorted(set(key_ids))
        if not wanted:
            return {}
        result = await session.execute(select(_KEYS.c.key_id, _KEYS.c.key).where(_KEYS.c.key_id.in_(wanted)))
        return {str(key_id): bytes(key) for key_id, key in result.all()}

    async def key_of_subject(self, session: AsyncSession, subject_digest: str) -> str | None:
        result = await session.execute(select(_KEYS.c.key_id).where(_KEYS.c.subject_digest == subject_digest))
        key_id = result.scalar_one_or_none()
        return str(key_id) if key_id is not None else None

    async def destroy(self, session: AsyncSession, key_id: str) -> None:
        await session.execute(delete(_KEYS).where(_KEYS.c.key_id == key_id))

    async def seal_beside(
        self, session: AsyncSession, submitter: SealedSubmitter | None, purpose: str, plain: str
    ) -> SealedValue:
        """``plain`` sealed under the key of ``submitter``'s data subject (what a dispute about their
        proposal says); erased at once when that subject's key is gone."""
        key_id = submitter.contact_email.key_id if submitter is not None else None
        key = await self.key_by_id(session, key_id) if key_id is not None else None
        if key_id is None or key is None:
            return SealedValue.gone()
        return seal(key_id, key, purpose, plain)

    async def seal_submitter(
        self, session: AsyncSession, submitter: Submitter, now: datetime
    ) -> SealedSubmitter:
        """The personal data of ``submitter`` sealed under the key of its contact e-mail's subject."""
        key_id, key = await self.key(session, self.subject_digest(submitter.contact_email), now)
        return sealed_submitter(key_id, key, submitter)


def sealed_submitter(key_id: str, key: bytes, submitter: Submitter) -> SealedSubmitter:
    """``submitter`` with its personal data sealed: the e-mail always, a citizen's name and number."""
    citizen = submitter.kind is SubmitterKind.citizen
    number = submitter.registration_number
    return SealedSubmitter(
        name=seal(key_id, key, "name", submitter.name) if citizen else submitter.name,
        kind=submitter.kind,
        registration_number=seal(key_id, key, "registration_number", number)
        if citizen and number is not None
        else number,
        contact_email=seal(key_id, key, "contact_email", str(submitter.contact_email)),
    )


def opened(value: object, purpose: str, keys: dict[str, bytes]) -> object:
    """``value`` in plain text when it is sealed under one of ``keys``; otherwise as it is."""
    if isinstance(value, SealedValue) and value.key_id in keys:
        return unseal(keys[value.key_id], value, purpose)
    return value


def read_digest_secret_file(path: Path) -> bytes:
    """A digest secret file: hex digits (``aireg keys create`` writes 32 random bytes, 64 digits)."""
    try:
        secret = bytes.fromhex(path.read_text().strip())
    except ValueError:
        raise ValueError(f"{path} does not hold a digest secret in hex digits") from None
    if len(secret) < SECRET_BYTES:
        raise ValueError(f"{path} holds a digest secret of {len(secret)} bytes; it needs {SECRET_BYTES}")
    return secret


def write_digest_secret_file(path: Path) -> bool:
    """Create a digest secret file (readable by its owner only) unless one exists; True if it created one."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(secrets.token_hex(SECRET_BYTES) + "\n")
    return True


async def stored_digest_secret(database: Database) -> bytes:
    """The digest secret this database keeps when no file is configured (created at the first start)."""
    async with database.writer.begin() as connection:
        stored = (await connection.execute(select(_SECRET.c.secret))).scalar_one_or_none()
        if stored is not None:
            return bytes(stored)
        secret = secrets.token_bytes(SECRET_BYTES)
        await connection.execute(insert(_SECRET).values(secret_id=1, secret=secret))
        return secret


async def scrub_after_erasure(database: Database, *, attempts: int = 50) -> bool:
    """Make the destroyed key's bytes unreadable from the database files, after its deletion committed;
    True when that is done.

    SQLite: the writer deletes with ``secure_delete`` on (zeros over the freed cell, see ``app.py``), and a
    ``wal_checkpoint(TRUNCATE)`` copies the zeroed pages into the database file and empties the WAL, which
    held the pages that wrote the key; retried while a reader holds the WAL. PostgreSQL: the deleted row
    version stays in the heap until VACUUM removes it, which it cannot while a transaction that began
    before the deletion still runs; so the key table is vacuumed (outside a transaction) until VACUUM
    reports no dead row version it could not remove. The README says what that leaves (WAL segments
    until recycled)."""
    for attempt in range(attempts):
        if attempt:
            await asyncio.sleep(0.2)
        async with database.writer.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            if database.dialect == "sqlite":
                cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                row = await cursor.fetchone()
                await cursor.close()
                if row is not None and row[0] == 0:
                    return True
            elif await _vacuum_left_nothing(driver):
                return True
    logger.warning("the destroyed key's storage is not scrubbed yet; a later VACUUM or checkpoint will")
    return False


async def _vacuum_left_nothing(driver: Any) -> bool:
    """VACUUM the key table on an asyncpg connection; whether it removed every dead row version (its
    VERBOSE report says how many "are dead but not yet removable")."""
    notices: list[str] = []

    def collect(_connection: Any, message: Any) -> None:
        notices.append(str(getattr(message, "message", message)))

    driver.add_log_listener(collect)
    try:
        await driver.execute(f"VACUUM (VERBOSE) {_KEYS.name}")
    finally:
        driver.remove_log_listener(collect)
    kept = [
        int(number)
        for notice in notices
        for found in _NOT_YET_REMOVABLE.findall(notice)
        for number in found
        if number
    ]
    return not any(kept)

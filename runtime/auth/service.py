"""Users and tokens. Passwords are hashed with argon2; tokens are random and only their
SHA-256 is stored, so a leaked database does not leak usable credentials."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from runtime.auth.models import Actor
from runtime.errors import Conflict, Unauthorized, ValidationFailed, not_found
from runtime.store.tables import tokens, users

# argon2id with OWASP's baseline (19 MiB, 2 passes, 1 lane): ~30 ms a check here, which
# keeps logins cheap for the server and guessing expensive for an attacker.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_PASSWORD = 8


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_EMAIL = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+")


def check_email(email: str | None) -> str | None:
    """A user's address, trimmed ('' clears it); refused when it cannot be one, so a
    typo fails when it is entered rather than as a bounced notification later."""
    if email is None:
        return None
    email = email.strip()
    if not email:
        return None
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise ValidationFailed(f"不是有效的邮箱地址：{email}",
                               f"Not a valid email address: {email}")
    return email


def create_user(conn: Connection, *, username: str, password: str, now: datetime,
                roles: list[str] | None = None, department: str | None = None,
                display_name: str | None = None, is_admin: bool = False,
                email: str | None = None) -> Actor:
    if not username or len(username) > 64:
        raise ValidationFailed("用户名长度必须在 1 到 64 之间",
                               "A username has 1 to 64 characters")
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"密码至少 {MIN_PASSWORD} 位",
                               f"A password has at least {MIN_PASSWORD} characters")
    address = check_email(email)
    if conn.execute(select(users.c.username).where(users.c.username == username)).first():
        raise Conflict(f"用户已存在：{username}", f"User already exists: {username}")
    conn.execute(insert(users).values(
        username=username, display_name=display_name or username,
        password_hash=_hasher.hash(password), roles=list(roles or []),
        department=department, is_admin=is_admin, active=True, created_at=now,
        email=address))
    return Actor(username, display_name or username, department, tuple(roles or ()), is_admin)


def set_email(conn: Connection, username: str, email: str | None) -> str | None:
    """Set (or, with None or '', clear) a user's address; returns what was stored."""
    address = check_email(email)
    done = conn.execute(update(users).where(users.c.username == username)
                        .values(email=address)).rowcount
    if done != 1:
        raise not_found("用户", "User", username)
    return address


def get_user(conn: Connection, username: str) -> Actor:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        raise not_found("用户", "User", username)
    return Actor(row.username, row.display_name, row.department, tuple(row.roles or ()),
                 bool(row.is_admin))


def login(conn: Connection, *, username: str, password: str, now: datetime,
          ttl: timedelta) -> str:
    """Check a password and issue a bearer token."""
    row = conn.execute(select(users).where(users.c.username == username)).first()
    ok = False
    if row is not None and row.active:
        try:
            ok = _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    if not ok:
        raise Unauthorized("用户名或密码错误", "Wrong username or password",
                           code="bad_credentials")
    return issue_token(conn, username=username, now=now, ttl=ttl)


def issue_token(conn: Connection, *, username: str, now: datetime,
                ttl: timedelta | None) -> str:
    token = secrets.token_urlsafe(32)
    conn.execute(insert(tokens).values(
        token_hash=_token_hash(token), username=username, created_at=now,
        expires_at=(now + ttl) if ttl else None))
    return token


def actor_for_token(conn: Connection, token: str, now: datetime) -> Actor:
    row = conn.execute(
        select(users, tokens.c.expires_at)
        .join(tokens, tokens.c.username == users.c.username)
        .where(tokens.c.token_hash == _token_hash(token))
    ).first()
    if row is None or not row.active:
        raise Unauthorized("令牌无效", "Invalid token", code="invalid_token")
    expires = row.expires_at
    if expires is not None:
        if expires.tzinfo is None:  # SQLite returns naive UTC
            expires = expires.replace(tzinfo=now.tzinfo)
        if expires <= now:
            raise Unauthorized("令牌已过期", "Token expired", code="token_expired")
    return Actor(row.username, row.display_name, row.department, tuple(row.roles or ()),
                 bool(row.is_admin))


def revoke_tokens(conn: Connection, username: str) -> None:
    conn.execute(delete(tokens).where(tokens.c.username == username))


def set_password(conn: Connection, username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"密码至少 {MIN_PASSWORD} 位",
                               f"A password has at least {MIN_PASSWORD} characters")
    conn.execute(update(users).where(users.c.username == username)
                 .values(password_hash=_hasher.hash(password)))


def ensure_admin(conn: Connection, *, password: str | None, var_dir: Path,
                 now: datetime) -> str | None:
    """Create the first admin on first start. Returns the generated password when one
    was generated (the caller prints it once), None otherwise. A generated password is
    also written to var/initial-admin-password with mode 600."""
    if conn.execute(select(users.c.username).where(users.c.is_admin.is_(True))).first():
        return None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
        var_dir.mkdir(parents=True, exist_ok=True)
        path = var_dir / "initial-admin-password"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    create_user(conn, username="admin", password=password, now=now, roles=["admin"],
                display_name="Administrator", is_admin=True)
    return generated

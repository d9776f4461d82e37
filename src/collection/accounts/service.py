"""Accounts: creating users, checking passwords (with throttling), sessions and API tokens.

Services take the session keyword-only and never commit; the caller's unit of work does.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from collection.accounts.passwords import hash_password, needs_rehash, verify_password
from collection.audit import service as audit
from collection.db import utcnow
from collection.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, TooManyRequests
from collection.models import AccessPoint, ApiToken, LoginAttempt, LoginSession, Role, User

TOKEN_PREFIX = "kho_"  # noqa: S105 -- a visible prefix, not a secret
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# After the allowed failures, each further failure doubles the wait, up to 15 minutes.
_BASE_DELAY = timedelta(seconds=30)
_MAX_DELAY = timedelta(minutes=15)


def normalise_email(email: str) -> str:
    email = unicodedata.normalize("NFC", email.strip()).lower()
    if not _EMAIL.match(email):
        raise InvalidInput(
            "Địa chỉ e-mail không hợp lệ.", message_en=f"invalid e-mail address {email!r}"
        )
    return email


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(
    *,
    session: Session,
    email: str,
    role: Role,
    password: str,
    display_name: str = "",
    actor: User | None = None,
    point_id: int | None = None,
) -> User:
    """Create a staff account; Conflict if the e-mail is taken. Without ``actor`` (the CLI), the
    log names nobody."""
    email = normalise_email(email)
    if len(password) < 10:
        raise InvalidInput(
            "Mật khẩu phải có ít nhất 10 ký tự.",
            message_en="password must be at least 10 characters",
        )
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(
            f"Đã có tài khoản với e-mail {email}.", message_en=f"a user with {email} exists"
        )
    user = User(
        email=email,
        role=role,
        password_hash=hash_password(password),
        display_name=unicodedata.normalize("NFC", display_name.strip()),
        point_id=_operator_point(session, role, point_id),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        target_type="user",
        target_id=user.id,
        summary=user.email,
        changes={"role": [None, role.value]},
    )
    return user


def _operator_point(session: Session, role: Role, point_id: int | None) -> int | None:
    """A point operator belongs to exactly one existing point; other roles to none."""
    if role != Role.POINT_OPERATOR:
        return None
    if point_id is None or session.get(AccessPoint, point_id) is None:
        raise InvalidInput(
            "Cán bộ điểm truy cập phải gắn với một điểm truy cập có thật.",
            message_en="a point operator needs an existing point",
            field="point_id",
        )
    return point_id


def get_user(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"Không có tài khoản số {user_id}.", message_en=f"no user {user_id}")
    return user


def update_user(
    *,
    session: Session,
    actor: User,
    user_id: int,
    role: Role,
    active: bool,
    display_name: str,
    point_id: int | None = None,
) -> User:
    """Change an account's role, name or whether it may log in. An admin cannot take away their
    own admin role or lock themselves out (someone must be left to manage accounts)."""
    user = get_user(session=session, user_id=user_id)
    if user.id == actor.id and (role != user.role or not active):
        raise InvalidInput(
            "Bạn không thể tự đổi vai trò hoặc tự khóa tài khoản của mình.",
            message_en="admins cannot change their own role or disable themselves",
        )

    def state() -> dict[str, object]:
        return {
            "role": user.role.value,
            "active": user.active,
            "display_name": user.display_name,
            "point_id": user.point_id,
        }

    before = state()
    user.point_id = _operator_point(session, role, point_id)
    user.role, user.active = role, active
    user.display_name = unicodedata.normalize("NFC", display_name.strip())
    after = state()
    if not active:
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    changes = audit.diff(before, after)
    if changes:
        audit.record(
            session,
            actor=actor,
            action="user.update",
            target_type="user",
            target_id=user.id,
            summary=user.email,
            changes=changes,
        )
    return user


def reset_password(*, session: Session, actor: User, user_id: int) -> tuple[User, str]:
    """A new random password for an account (shown once to the admin); its sessions end."""
    user = get_user(session=session, user_id=user_id)
    password = generate_password()
    set_password(session=session, user=user, password=password)
    audit.record(
        session,
        actor=actor,
        action="user.password",
        target_type="user",
        target_id=user.id,
        summary=user.email,
    )
    return user, password


def get_user_by_email(*, session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"Không có tài khoản {email}.", message_en=f"no user {email}")
    return user


def list_users(*, session: Session) -> list[User]:
    """Staff accounts by e-mail address."""
    return list(session.scalars(select(User).order_by(User.email)))


def set_password(*, session: Session, user: User, password: str) -> None:
    if len(password) < 10:
        raise InvalidInput(
            "Mật khẩu phải có ít nhất 10 ký tự.",
            message_en="password must be at least 10 characters",
        )
    user.password_hash = hash_password(password)
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


@dataclass(frozen=True)
class Throttle:
    failures: int
    retry_after: int  # seconds; 0 when a try is allowed now


def login_throttle(
    *, session: Session, email: str, max_failures: int, now: datetime | None = None
) -> Throttle:
    """How many failures in a row this account has, and how long it must wait before a new try."""
    now = now or utcnow()
    attempt = session.get(LoginAttempt, email)
    if attempt is None or attempt.failures < max_failures:
        return Throttle(attempt.failures if attempt else 0, 0)
    delay = min(_BASE_DELAY * 2 ** (attempt.failures - max_failures), _MAX_DELAY)
    wait = attempt.last_failure_at + delay - now
    return Throttle(attempt.failures, max(0, int(wait.total_seconds() + 0.999)))


def authenticate(*, session: Session, email: str, password: str, max_failures: int) -> User:
    """The active user with this e-mail and password.

    Wrong passwords are counted per account; past ``max_failures`` in a row each new try must wait
    (TooManyRequests with Retry-After) and is refused without even checking the password.
    """
    try:
        email = normalise_email(email)
    except InvalidInput as exc:
        raise NotAuthenticated(
            "E-mail hoặc mật khẩu không đúng.", message_en="wrong e-mail or password"
        ) from exc
    throttle = login_throttle(session=session, email=email, max_failures=max_failures)
    if throttle.retry_after:
        raise TooManyRequests(
            f"Bạn đã nhập sai {throttle.failures} lần liên tiếp. "
            f"Vui lòng thử lại sau {throttle.retry_after} giây.",
            message_en=f"too many failed logins; retry in {throttle.retry_after} s",
            headers={"Retry-After": str(throttle.retry_after)},
        )
    user = session.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        attempt = session.get(LoginAttempt, email) or LoginAttempt(email=email, failures=0)
        attempt.failures += 1
        attempt.last_failure_at = utcnow()
        session.add(attempt)
        raise NotAuthenticated(
            "E-mail hoặc mật khẩu không đúng.", message_en="wrong e-mail or password"
        )
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def start_session(
    *, session: Session, user: User, hours: int, user_agent: str = ""
) -> tuple[str, LoginSession]:
    """A new login session; returns the cookie value (shown once) and the stored row."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        user_id=user.id,
        token_hash=_digest(token),
        expires_at=utcnow() + timedelta(hours=hours),
        user_agent=user_agent[:300],
    )
    session.add(row)
    session.flush()
    return token, row


def user_for_session(*, session: Session, token: str) -> User:
    """The user behind a session cookie; NotAuthenticated if unknown, expired or the user is off."""
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == _digest(token)))
    if row is None or row.expires_at <= utcnow():
        raise NotAuthenticated(
            "Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại.",
            message_en="session expired or unknown",
        )
    if not row.user.active:
        raise NotAuthenticated(message_en="account disabled")
    return row.user


def end_session(*, session: Session, token: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(token)))


def create_api_token(
    *, session: Session, user: User, name: str = "", expires_days: int | None = None
) -> tuple[str, ApiToken]:
    """A new bearer token for ``user``; the token itself is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=unicodedata.normalize("NFC", name.strip()),
        token_hash=_digest(token),
        prefix=token[:10],
        expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
    )
    session.add(row)
    session.flush()
    return token, row


def user_for_token(*, session: Session, token: str) -> User:
    """The user behind a bearer token; NotAuthenticated if unknown, revoked or expired."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise NotAuthenticated(
            "Mã truy cập API không hợp lệ hoặc đã hết hạn.",
            message_en="invalid, revoked or expired API token",
        )
    if not row.user.active:
        raise NotAuthenticated(message_en="account disabled")
    row.last_used_at = now
    return row.user


def list_tokens(*, session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
    )


def revoke_token(*, session: Session, user: User, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("Không tìm thấy mã truy cập.", message_en=f"no token {token_id}")
    row.revoked_at = utcnow()

"""The accounts API: login/logout for the browser, users (admins), API tokens (own)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from collection.accounts import service
from collection.accounts.roles import Permission
from collection.accounts.schemas import (
    LoginRequest,
    PasswordReset,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from collection.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AppSettings,
    CurrentUser,
    DbSession,
    require,
)
from collection.api.limits import limit_login
from collection.config import Settings
from collection.errors import NotAuthenticated
from collection.ids import Id
from collection.models import User

router = APIRouter(prefix="/api/v1", tags=["accounts"])
Admin = Annotated[User, Depends(require(Permission.MANAGE_USERS))]
TokenUser = Annotated[User, Depends(require(Permission.USE_API_TOKENS))]


def set_login_cookies(
    response: Response, *, settings: Settings, token: str, request: Request
) -> None:
    """The session cookie (httponly) and the CSRF cookie (readable by our own scripts); Secure
    when the site is public over https or this request came over https."""
    max_age = settings.session_hours * 3600
    secure = settings.cookies_secure or request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(24),
        max_age=max_age,
        httponly=False,
        secure=secure,
        samesite="strict",
        path="/",
    )


def login_user(
    *, session: DbSession, settings: Settings, email: str, password: str, user_agent: str
) -> tuple[User, str]:
    """Check the password and open a session; failures are committed so throttling counts them."""
    try:
        user = service.authenticate(
            session=session,
            email=email,
            password=password,
            max_failures=settings.login_max_failures,
        )
    except NotAuthenticated:
        session.commit()  # keep the failure count although the request fails
        raise
    token, _ = service.start_session(
        session=session, user=user, hours=settings.session_hours, user_agent=user_agent
    )
    return user, token


@router.post("/auth/login", response_model=UserOut, summary="Log in (sets the session cookie)")
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
) -> User:
    limit_login(request, settings)
    user, token = login_user(
        session=session,
        settings=settings,
        email=body.email,
        password=body.password,
        user_agent=request.headers.get("user-agent", ""),
    )
    set_login_cookies(response, settings=settings, token=token, request=request)
    return user


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Log out")
def logout(request: Request, session: DbSession) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        service.end_session(session=session, token=cookie)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=UserOut, summary="The logged-in user")
def me(user: CurrentUser) -> User:
    return user


@router.get("/users", response_model=list[UserOut], summary="Staff accounts (admins)")
def list_users(session: DbSession, _admin: Admin) -> list[User]:
    return service.list_users(session=session)


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a staff account (admins)",
)
def create_user(body: UserCreate, session: DbSession, admin: Admin) -> User:
    return service.create_user(
        session=session,
        email=body.email,
        role=body.role,
        password=body.password,
        display_name=body.display_name,
        actor=admin,
        point_id=body.point_id,
    )


@router.put("/users/{user_id}", response_model=UserOut, summary="Change a staff account (admins)")
def update_user(user_id: Id, body: UserUpdate, session: DbSession, admin: Admin) -> User:
    return service.update_user(
        session=session,
        actor=admin,
        user_id=user_id,
        role=body.role,
        active=body.active,
        display_name=body.display_name,
        point_id=body.point_id,
    )


@router.post(
    "/users/{user_id}/password",
    response_model=PasswordReset,
    summary="Give an account a new random password (admins; shown once)",
)
def reset_password(user_id: Id, session: DbSession, admin: Admin) -> PasswordReset:
    _, password = service.reset_password(session=session, actor=admin, user_id=user_id)
    return PasswordReset(password=password)


@router.get("/tokens", response_model=list[TokenOut], summary="My API tokens")
def list_tokens(session: DbSession, user: TokenUser) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in service.list_tokens(session=session, user=user)]


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token for my scripts (shown once)",
)
def create_token(body: TokenCreate, session: DbSession, user: TokenUser) -> TokenCreated:
    token, row = service.create_api_token(
        session=session, user=user, name=body.name, expires_days=body.expires_days
    )
    return TokenCreated(token=token, **TokenOut.model_validate(row).model_dump())


@router.delete(
    "/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a token"
)
def revoke_token(token_id: Id, session: DbSession, user: TokenUser) -> Response:
    service.revoke_token(session=session, user=user, token_id=token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""The accounts API's request and response shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from collection.ids import Id
from collection.models import Role


class LoginRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    role: Role
    active: bool
    point_id: Id | None = Field(None, description="A point operator's access point.")
    created_at: datetime
    last_login_at: datetime | None


class UserCreate(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    display_name: str = Field("", max_length=200)
    role: Role
    password: str = Field(min_length=10, max_length=1024)
    point_id: Id | None = Field(None, description="Required for point_operator: their point.")


class UserUpdate(BaseModel):
    display_name: str = Field("", max_length=200)
    role: Role
    active: bool = True
    point_id: Id | None = Field(None, description="Required for point_operator: their point.")


class PasswordReset(BaseModel):
    password: str = Field(description="The new password. Shown once; give it to the person.")


class TokenCreate(BaseModel):
    name: str = Field("", max_length=200)
    expires_days: int | None = Field(None, ge=1, le=3650)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The bearer token. Shown once; only its hash is kept.")

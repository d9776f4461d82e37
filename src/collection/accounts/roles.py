"""What each role may do. Routes ask for a permission, never for a role name."""

from __future__ import annotations

import enum

from collection.models import Role


class Permission(enum.StrEnum):
    MANAGE_USERS = "manage_users"  # accounts and roles
    MANAGE_POINTS = "manage_points"  # access points and widget keys
    CATALOGUE = "catalogue"  # collections, items, uploads, ingest, OCR corrections
    VIEW_STAFF = "view_staff"  # see the staff workspace, drafts, jobs
    VIEW_REPORTS = "view_reports"  # usage reports
    FREEZE_REPORTS = "freeze_reports"  # submit (freeze) the yearly report
    SUBMIT_FIGURES = "submit_figures"  # a point's monthly figures (operators: their point only)
    USE_API_TOKENS = "use_api_tokens"  # create tokens for one's own scripts
    MANAGE_HARVEST = "manage_harvest"  # OAI-PMH sources harvested in, and running them


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.CATALOGUER: frozenset(
        {
            Permission.CATALOGUE,
            Permission.VIEW_STAFF,
            Permission.VIEW_REPORTS,
            Permission.USE_API_TOKENS,
        }
    ),
    Role.REPORTER: frozenset(
        {
            Permission.VIEW_STAFF,
            Permission.VIEW_REPORTS,
            Permission.FREEZE_REPORTS,
            Permission.SUBMIT_FIGURES,
            Permission.USE_API_TOKENS,
        }
    ),
    # Scoped to the user's one point (users.point_id): reports/figures.allowed_point.
    Role.POINT_OPERATOR: frozenset({Permission.SUBMIT_FIGURES, Permission.USE_API_TOKENS}),
}


def allows(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]

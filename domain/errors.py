"""Domain errors. Each names the rule of DOMAIN.md section 7 it enforces and the field at fault.

The domain says what went wrong; the API decides what that means in HTTP, in one place
(api/errors.py). The `code` is stable and documented; the messages come in Chinese and
English.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refused command. Nothing was recorded."""

    code: str = "domain_error"

    def __init__(
        self,
        message: str,
        *,
        rule: str,
        field: str | None = None,
        message_zh: str | None = None,
        details: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field
        self.message_zh = message_zh or message
        self.details = details or {}

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.code} ({self.rule}){where}: {self.message}"


class InvalidInput(DomainError):
    """Malformed or missing data (a field fails its rule)."""

    code = "invalid_input"


class PermissionDenied(DomainError):
    """Rule 1 and 5: only the unit named for an action may post it."""

    code = "permission_denied"


class NotFound(DomainError):
    code = "not_found"


class DuplicateListing(DomainError):
    """Rule 2: an enterprise with a USCC is listed once."""

    code = "duplicate_listing"


class RuleViolation(DomainError):
    """The command is well formed but the case's state forbids it."""

    code = "rule_violation"


class ConcurrencyConflict(DomainError):
    """Another command changed the case first; reload and retry."""

    code = "concurrency_conflict"

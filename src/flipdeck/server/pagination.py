"""Provides the listing convention every collection endpoint uses:
``{count, next, previous, results}`` with ``page`` and ``page_size`` (capped), ``ordering`` on
allow-listed fields (``-field`` for descending) and filters on allow-listed fields only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlencode

from flipdeck.server.errors import ApiError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE = 1_000_000


def _int_param(req, name: str, default: int) -> int:
    raw = req.get_param(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            "validation_failed",
            errors=[{"pointer": f"#/query/{name}", "detail": "must be a whole number"}],
        ) from None
    if value < 1:
        raise ApiError(
            "validation_failed", errors=[{"pointer": f"#/query/{name}", "detail": "must be ≥ 1"}]
        )
    if value > MAX_PAGE:
        # an OFFSET beyond 64 bits is an overflow error in SQLite and PostgreSQL, not a miss
        raise ApiError(
            "validation_failed",
            errors=[{"pointer": f"#/query/{name}", "detail": f"must be at most {MAX_PAGE}"}],
        )
    return value


def paginate(
    req,
    query,
    serialize: Callable,
    *,
    cap: int,
    ordering: Mapping[str, object],
    default_ordering: str,
    filters: Mapping[str, Callable] | None = None,
) -> dict:
    """One page of ``query`` (a peewee select) as the listing envelope.

    ``ordering`` maps public names to model fields; ``filters`` maps public names to functions
    turning the parameter's value into a peewee expression (raising ``ApiError`` when bad).
    """
    page = _int_param(req, "page", 1)
    size = min(_int_param(req, "page_size", DEFAULT_PAGE_SIZE), cap)
    for name, build in (filters or {}).items():
        value = req.get_param(name)
        if value is not None:
            query = query.where(build(value))
    order = req.get_param("ordering") or default_ordering
    field = ordering.get(order[1:] if order.startswith("-") else order)
    if field is None:
        raise ApiError(
            "validation_failed",
            errors=[
                {
                    "pointer": "#/query/ordering",
                    "detail": f"must be one of {', '.join(sorted(ordering))} (or -name)",
                }
            ],
        )
    expression = field.desc() if order.startswith("-") else field.asc()
    count = query.count()
    rows = query.order_by(expression, query.model.id.asc()).paginate(page, size)
    params = {k: v for k, v in req.params.items() if k not in ("page", "page_size")}

    def link(number: int) -> str:
        return f"{req.prefix}{req.path}?" + urlencode({**params, "page": number, "page_size": size})

    return {
        "count": count,
        "next": link(page + 1) if page * size < count else None,
        "previous": link(page - 1) if page > 1 and (page - 1) * size < count + size else None,
        "results": [serialize(row) for row in rows],
    }

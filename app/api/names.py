"""Names the API answers with, beside the ids: who the caller is, and which sellers they may
see named. Pure: the names come from the worker's ``ReferenceCatalogue`` (``app/reference.py``),
which falls back to the id for what it lacks.
"""

from __future__ import annotations

from app.api.auth import Principal
from app.reference import ReferenceCatalogue


def display_name_of(
    principal: Principal, own_name: str | None, catalogue: ReferenceCatalogue
) -> str:
    """How to greet the caller: their own display name (the users file), else, for a seller,
    their name in the reference data, else the username."""
    if own_name:
        return own_name
    if principal.seller_id is not None and principal.seller_id in catalogue.sellers:
        return catalogue.seller_name(principal.seller_id)
    return principal.username


def store_name_of(principal: Principal, catalogue: ReferenceCatalogue) -> str | None:
    """The name of the caller's store (its id while the catalogue lacks it); None without one."""
    return catalogue.store_name(principal.store_id) if principal.store_id else None


def seller_name(catalogue: ReferenceCatalogue, principal: Principal | None, seller_id: str) -> str:
    """A seller's name for an id the caller chose (a path parameter), scoped like the seller's
    figures: given when the caller may see the seller in the store the reference data puts
    them in, or is that seller. Otherwise the id: a manager must not learn other stores'
    sellers' names by trying ids, as their figures read as zeros there for the same reason.
    (Lists of a store's own sellers, the team table and the feed, name everyone in them.)"""
    seller = catalogue.sellers.get(seller_id)
    if seller is None:
        return seller_id
    if (
        principal is None
        or principal.seller_id == seller_id
        or principal.can_read_seller(seller_id, seller.store_id)
    ):
        return seller.display_name
    return seller_id

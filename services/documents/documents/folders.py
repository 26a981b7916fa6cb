"""An account's folders: two roots made on first use, folders below them, and what a client sees.

A client sees a folder whose `client_access` is `view` or `view_edit`, and uploads into the
`view_edit` ones. A folder inside a private one must be private too, so a visible folder
always has visible ancestors and "visible" needs no walk up the tree.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session as DbSession

from documents.models import Folder
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed

ROOT_NAMES = {"private": "Private", "client": "Client"}
ROOT_ACCESS = {"private": "none", "client": "view_edit"}


def ensure_roots(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID) -> dict[str, Folder]:
    """The account's two roots, made now if this is the account's first use of documents."""
    roots = _roots(db, firm_id, account_id)
    if len(roots) == len(ROOT_NAMES):  # every use but the first: one read, no write
        return roots
    for root, name in ROOT_NAMES.items():
        db.execute(
            insert(Folder).values(id=uuid.uuid4(), firm_id=firm_id, account_id=account_id, root=root, name=name,
                                  client_access=ROOT_ACCESS[root])
            .on_conflict_do_nothing(index_elements=["account_id", "root"], index_where=Folder.root.isnot(None))
        )
    return _roots(db, firm_id, account_id)


def _roots(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID) -> dict[str, Folder]:
    rows = db.scalars(select(Folder).where(Folder.firm_id == firm_id, Folder.account_id == account_id,
                                           Folder.root.isnot(None)))
    return {folder.root: folder for folder in rows}


def client_sees(folder: Folder) -> bool:
    return folder.client_access != "none"


def list_folders(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, *, client: bool) -> list[Folder]:
    ensure_roots(db, firm_id, account_id)
    query = select(Folder).where(Folder.firm_id == firm_id, Folder.account_id == account_id)
    if client:
        query = query.where(Folder.client_access != "none")
    return list(db.scalars(query.order_by(Folder.parent_id.nulls_first(), func.lower(Folder.name), Folder.id)))


def get_folder(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, folder_id: uuid.UUID, *,
               client: bool) -> Folder:
    """A folder of this account; one the caller may not see is not found."""
    folder = db.scalar(select(Folder).where(Folder.firm_id == firm_id, Folder.account_id == account_id,
                                            Folder.id == folder_id))
    if folder is None or (client and not client_sees(folder)):
        raise NotFound("No such folder.")
    return folder


def default_folder(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, *, client: bool) -> Folder:
    """Where an upload without a folder goes: the client root for a client, the private root for staff."""
    return ensure_roots(db, firm_id, account_id)["client" if client else "private"]


def require_client_upload(folder: Folder) -> None:
    if folder.client_access != "view_edit":
        raise Forbidden("This folder is read-only for clients.")


def upload_into(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, folder_id: uuid.UUID | None, *,
                client: bool) -> Folder:
    """Where a logged-in user's upload goes: the folder he named, else his default one; a client
    only into a folder he may edit."""
    folder = (get_folder(db, firm_id, account_id, folder_id, client=client) if folder_id
              else default_folder(db, firm_id, account_id, client=client))
    if client:
        require_client_upload(folder)
    return folder


def create_folder(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, user_id: uuid.UUID | None,
                  data: dict[str, Any]) -> Folder:
    """A folder under `parent_id`, or without one under the root that matches its client access (the
    private root for `none`, the client root for a folder shown to clients)."""
    roots = ensure_roots(db, firm_id, account_id)
    parent = (get_folder(db, firm_id, account_id, data["parent_id"], client=False) if data["parent_id"]
              else roots["private" if data["client_access"] == "none" else "client"])
    if not client_sees(parent) and data["client_access"] != "none":
        raise ValidationFailed("A folder inside a private folder is private too.",
                               {"client_access": ["Must be `none` inside a private folder."]})
    name = data["name"].strip()
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValidationFailed("That is not a folder name.", {"name": ["Give a name without slashes."]})
    if _child_named(db, parent, name) is not None:
        raise Conflict(f"The folder already holds a folder named {name!r}.")
    folder = Folder(id=uuid.uuid4(), firm_id=firm_id, account_id=account_id, parent_id=parent.id, name=name,
                    client_access=data["client_access"], created_by=user_id)
    db.add(folder)
    db.flush()
    return folder


def _child_named(db: DbSession, parent: Folder, name: str) -> Folder | None:
    return db.scalar(select(Folder).where(Folder.parent_id == parent.id, func.lower(Folder.name) == name.lower()))


def child_folder(db: DbSession, parent: Folder, name: str, created_by: uuid.UUID | None = None) -> Folder:
    """The subfolder `name` of `parent`, made if missing (an unpacked archive's folders, a guest
    uploader's folder); it inherits the parent's client access. Safe against a concurrent maker."""
    db.execute(
        insert(Folder).values(id=uuid.uuid4(), firm_id=parent.firm_id, account_id=parent.account_id,
                              parent_id=parent.id, name=name, client_access=parent.client_access,
                              created_by=created_by)
        .on_conflict_do_nothing(index_elements=[Folder.parent_id, func.lower(Folder.name)],
                                index_where=Folder.parent_id.isnot(None))
    )
    folder = _child_named(db, parent, name)
    assert folder is not None  # just inserted, or inserted by a transaction that committed first
    return folder

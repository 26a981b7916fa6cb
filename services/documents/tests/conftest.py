"""Documents tests run on a real, migrated PostgreSQL database of this test run and on the run's S3
bucket (devstack fixtures); the service-level ones on the run's RabbitMQ vhost too. `unit/` holds
the tests that need none of them (and asks for none of these fixtures).

Domain tests use `db` (rolled back at the end) and `store` (the run's bucket; whatever the test wrote
under its firm's prefix is removed afterwards). Each test has a firm and an account of its own.
Service tests start the service with `start_documents` (crm and links are test doubles) and call it
through `Documents` (the `documents` fixture: default settings).
"""
from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from devstack.fixtures import rolled_back
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies
from psycogreen.eventlet import patch_psycopg
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session

from documents import archive, file_requests, folders, uploads
from documents.models import Document, FileRequest, Folder, Upload
from documents.service import DocumentsService
from shared.storage import HEAD_BYTES, ObjectStore

# Tests run under eventlet (`nameko test`), as the service does: with psycopg2's green wait
# callback a query waiting on a lock yields to the other green threads instead of blocking them.
patch_psycopg()

LIMITS = archive.ArchiveLimits()
STAFF_ID = uuid.UUID("00000000-0000-4000-8000-00000000aaaa")
STAFF = uploads.Uploader(kind="staff", source="staff", user_id=STAFF_ID, name="Sam Staff", email="sam@firm.example")
MAX_BYTES = 10 * 1024 * 1024


@pytest.fixture(scope="session")
def documents_url(migrated: Callable[[str], str]) -> str:
    return migrated("documents")


@pytest.fixture(scope="session")
def documents_engine(service_engine: Callable[[str], Engine], documents_url: str) -> Engine:
    return service_engine("documents")


@pytest.fixture
def db(documents_engine: Engine) -> Iterator[Session]:
    """A session whose work, commits included, is rolled back at the end of the test."""
    with rolled_back(documents_engine) as session:
        yield session


@pytest.fixture
def firm_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def account_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def store(s3_client: Any, bucket: str, firm_id: uuid.UUID) -> Iterator[ObjectStore]:
    """The run's bucket; the test's firm's objects are removed afterwards."""
    object_store = ObjectStore(s3_client, bucket)
    yield object_store
    object_store.remove_prefix(f"firms/{firm_id}/")


@pytest.fixture
def keys_under(s3_client: Any, bucket: str) -> Callable[[str], list[str]]:
    """`keys_under(prefix)`: the keys of the objects stored under `prefix`, sorted."""

    def keys(prefix: str) -> list[str]:
        return sorted(item.object_name for item in s3_client.list_objects(bucket, prefix=prefix, recursive=True))

    return keys


@pytest.fixture
def put_object(s3_client: Any, bucket: str) -> Callable[[str, bytes], None]:
    """`put_object(key, data)`: bytes written as the gateway writes an upload's."""

    def put(key: str, data: bytes) -> None:
        s3_client.put_object(bucket, key, io.BytesIO(data), len(data), content_type="application/octet-stream")

    return put


@pytest.fixture
def staff() -> uploads.Uploader:
    """The staff member who uploads in these tests."""
    return STAFF


@pytest.fixture
def roots(db: Session, firm_id: uuid.UUID, account_id: uuid.UUID) -> dict[str, Folder]:
    """The account's two roots: `private` and `client`."""
    return folders.ensure_roots(db, firm_id, account_id)


@pytest.fixture
def make_folder(db: Session, firm_id: uuid.UUID, account_id: uuid.UUID,
                roots: dict[str, Folder]) -> Callable[..., Folder]:
    """`make_folder(name, client_access, parent=None)`: a folder of the account (default parent: the private
    root for a private folder, the client root for a visible one)."""

    def make(name: str, client_access: str = "none", parent: Folder | None = None) -> Folder:
        if parent is None:
            parent = roots["private" if client_access == "none" else "client"]
        return folders.create_folder(db, firm_id, account_id, STAFF_ID,
                                     {"name": name, "parent_id": parent.id, "client_access": client_access})

    return make


@pytest.fixture
def make_request(db: Session, roots: dict[str, Folder]) -> Callable[..., FileRequest]:
    """`make_request(folder=None, guest=False, **limits)`: an open file request (default folder: the client root)."""

    def make(folder: Folder | None = None, *, guest: bool = False, **fields: Any) -> FileRequest:
        data = {"message": "Please send last year's receipts.", "recipients": [], "expires_at": None,
                "max_files": None, "max_bytes": None, "allowed_types": None, **fields}
        return file_requests.create(db, folder or roots["client"], STAFF_ID, data, guest=guest)

    return make


@pytest.fixture
def upload_file(db: Session, store: ObjectStore, put_object: Callable[[str, bytes], None]
                ) -> Callable[..., uploads.Completed]:
    """`upload_file(folder, name, data, ...)`: begin an upload, write its bytes to the store, complete it."""

    def upload(folder: Folder, name: str, data: bytes, *, uploader: uploads.Uploader = STAFF,
               file_request: FileRequest | None = None, declared_type: str | None = None,
               scan_status: str = "not_scanned", unzip: bool = True) -> uploads.Completed:
        started = uploads.begin(db, folder=folder, filename=name, declared_type=declared_type, size=len(data),
                                unzip=unzip, uploader=uploader, max_bytes=MAX_BYTES, file_request=file_request)
        put_object(started.object_key, data)
        return uploads.complete(db, store, started, size=len(data), sha256=sha256_of(data), head=data[:HEAD_BYTES],
                                limits=LIMITS,
                                allowed_types=file_request.allowed_types if file_request else None,
                                scan_status=scan_status)

    return upload


@pytest.fixture
def uploads_in(db: Session) -> Callable[[Folder], list[Upload]]:
    """`uploads_in(folder)`: the uploads in flight into that folder."""

    def find(folder: Folder) -> list[Upload]:
        return list(db.scalars(select(Upload).where(Upload.folder_id == folder.id)))

    return find


@pytest.fixture
def documents_of(db: Session) -> Callable[[uuid.UUID], list[Document]]:
    """`documents_of(account_id)`: the account's documents, oldest first."""

    def find(account: uuid.UUID) -> list[Document]:
        return list(db.scalars(select(Document).where(Document.account_id == account)
                               .order_by(Document.created_at, Document.id)))

    return find


# -- the running service ----------------------------------------------------------------------


@dataclass
class Running:
    """A started DocumentsService container, its config, and its crm and links doubles."""

    container: Any
    config: dict[str, Any]
    crm: Any
    links: Any


@dataclass
class Documents:
    """A running DocumentsService, called over RPC, and its crm and links doubles."""

    config: dict[str, Any]
    crm: Any
    links: Any
    firm_id: uuid.UUID
    account_id: uuid.UUID
    container: Any

    def call(self, method: str, user_id: uuid.UUID | None = None, kind: str = "staff", *,
             call_key: str | None = None, **kwargs: Any) -> Any:
        """`method` as a user (`kind`) of the test's firm, or without `user_id` as the person with a link;
        under `call_key` (default: a fresh one, as each gateway request has)."""
        context = {"call_key": call_key or uuid.uuid4().hex}
        if user_id is not None:
            context.update(firm_id=str(self.firm_id), user_id=str(user_id), user_kind=kind)
        with ServiceRpcProxy("documents", self.config, timeout=15, context_data=context) as proxy:
            return getattr(proxy, method)(**kwargs)

    def link_resolves_to(self, kind: str, target_id: str) -> None:
        """links resolves any token to a live link of `kind` (a file or client request) for this target."""
        self.links.resolve_link.return_value = {"id": str(uuid.uuid4()), "firm_id": str(self.firm_id), "kind": kind,
                                                "target": {"type": kind, "id": target_id}}


@pytest.fixture
def documents(start_documents: Callable[..., Running], firm_id: uuid.UUID, account_id: uuid.UUID) -> Documents:
    """The service started with its default settings (crm authorises a staff member on the test's account)."""
    running = start_documents()
    return Documents(running.config, running.crm, running.links, firm_id, account_id, running.container)


@pytest.fixture
def firm_rows_removed(documents_engine: Engine, firm_id: uuid.UUID) -> Iterator[None]:
    """The service commits for real: the firm's rows are deleted after the test."""
    yield
    with documents_engine.begin() as connection:
        for table in (Document, Upload, FileRequest, Folder):
            connection.execute(delete(table).where(table.firm_id == firm_id))


@pytest.fixture
def start_documents(container_factory: Callable[..., Any], service_config: Callable[..., dict[str, Any]],
                    documents_url: str, store: ObjectStore, firm_rows_removed: None,
                    account_id: uuid.UUID) -> Callable[..., Running]:
    """`start_documents(**settings)`: the service on the run's broker, database and bucket, with those
    settings fields replaced (e.g. `clamd_address`). crm authorises a staff member on the test's
    account; links issues and revokes whatever it is asked to."""

    def start(**settings: Any) -> Running:
        config = service_config("documents", db_url=documents_url, **settings)
        container = container_factory(DocumentsService, config)
        crm, links = replace_dependencies(container, "crm", "links")
        crm.authorize_account.return_value = {
            "account": {"id": str(account_id), "name": "Smith Family", "guest": False},
            "principal_kind": "staff", "user": {"name": "Sam Staff", "email": "sam@firm.example"},
            "portal_settings": None,
        }
        links.issue_link.side_effect = lambda payload: {"id": str(uuid.uuid4()), **payload}
        links.revoke_link.return_value = {}
        container.start()
        return Running(container, config, crm, links)

    return start


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def read(documents_engine: Engine) -> Callable[..., list[Any]]:
    """`read(select(...))`: rows as committed."""

    def rows(query: Any) -> list[Any]:
        with Session(documents_engine) as session:
            return list(session.scalars(query))

    return rows


@pytest.fixture
def events(documents_engine: Engine, firm_id: uuid.UUID) -> Callable[[str], list[dict]]:
    """`events(type)`: the event bodies of that type the service committed for the test's firm."""

    def of(event_type: str) -> list[dict]:
        with documents_engine.connect() as conn:
            return [row[0] for row in conn.execute(text(
                "SELECT payload FROM outbox WHERE event_type = :type AND payload ->> 'firm_id' = :firm "
                "ORDER BY created_at"), {"type": event_type, "firm": str(firm_id)})]

    return of

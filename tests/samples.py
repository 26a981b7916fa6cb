"""Files and uploads the documents tests share."""
from __future__ import annotations

import io
import zipfile
from typing import Any

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload(api: Any, account: dict, name: str, data: bytes, **params: Any) -> Any:
    """A staff upload with a raw body."""
    return api.post(f"/api/v1/accounts/{account['id']}/documents", params={"filename": name, **params}, data=data,
                    headers={"Content-Type": "application/octet-stream"})


def objects_under(s3_client: Any, bucket: str, firm: dict) -> list[str]:
    """Every object the firm has in the store."""
    return [o.object_name for o in s3_client.list_objects(bucket, prefix=f"firms/{firm['firm']['id']}/",
                                                          recursive=True)]

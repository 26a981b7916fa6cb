"""Query parameters of list endpoints, passed on for the owning service to validate."""
from __future__ import annotations

import falcon


def page_query(req: falcon.Request, *extra: str) -> dict[str, str]:
    """Only the parameters a list understands: others (cache busters) are ignored, not refused."""
    return {name: req.params[name] for name in ("limit", "cursor", *extra) if isinstance(req.params.get(name), str)}

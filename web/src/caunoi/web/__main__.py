"""``python -m caunoi.web``: the web application, served by uvicorn on ``CAUNOI_WEB_HOST``:
``CAUNOI_WEB_PORT`` (127.0.0.1:8080), connecting to NATS as ``CAUNOI_NATS_USER`` (``caunoi up``
gives it the installation's ``clients`` user)."""

from __future__ import annotations

from caunoi.shared import footprint

footprint.leave_out(footprint.WEB)

import uvicorn  # noqa: E402

from caunoi.shared import logging as clog  # noqa: E402
from caunoi.shared.settings import Settings  # noqa: E402
from caunoi.web.app import create_app  # noqa: E402
from caunoi.web.settings import WebSettings  # noqa: E402


def main() -> None:
    core, web = Settings(), WebSettings()
    clog.configure("web", core.log_level, core.log_format)
    app = create_app(web, core)
    uvicorn.run(app, host=web.host, port=web.port, log_config=None, access_log=False, proxy_headers=True)


if __name__ == "__main__":
    main()

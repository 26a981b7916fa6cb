"""gunicorn's entry: `gunicorn -c services/gateway/gunicorn.conf.py gateway.wsgi:app`.

The composition root: the one place a worker process reads its settings from the environment."""
from gateway.app import create_app
from gateway.rpc import RpcClient
from shared.config import load_settings
from shared.logs import configure_logging

settings = load_settings()
configure_logging("gateway")
app = create_app(RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout), settings)

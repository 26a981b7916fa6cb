#!/bin/sh
# Entrypoint of every Porta service image (deploy/Dockerfile.service).
#
#   run       (default) start the nameko service: from services/<name>,
#             nameko run --config config.yaml <name>.service:<Name>Service
#   migrate   create the service's database if missing and migrate it to head
#             (docker-compose one-shot `<name>-migrate`, Kubernetes initContainer)
#   health    exit 0 when the service answers its health() RPC (compose healthcheck, k8s probes)
#   *         anything else is run as a command, e.g. `sh` or `python -m shared.migrations ...`
#
# PORTA_SERVICE (set by the image from the SERVICE build arg) names the service;
# PORTA_APP_DIR (default /app) is where services/<name> was copied.
set -eu

: "${PORTA_SERVICE:?PORTA_SERVICE is not set (build the image with --build-arg SERVICE=<name>)}"
app_dir="${PORTA_APP_DIR:-/app}"
service_dir="$app_dir/services/$PORTA_SERVICE"

# crm -> CrmService, notifications -> NotificationsService
first=$(printf '%s' "$PORTA_SERVICE" | cut -c1 | tr '[:lower:]' '[:upper:]')
rest=$(printf '%s' "$PORTA_SERVICE" | cut -c2-)
service_class="${first}${rest}Service"

command="${1:-run}"
case "$command" in
  run)
    cd "$service_dir"
    exec nameko run --config config.yaml "$PORTA_SERVICE.service:$service_class"
    ;;
  migrate)
    exec python -m shared.migrations "$service_dir"
    ;;
  health)
    shift
    exec python "$app_dir/deploy/healthcheck.py" rpc "$PORTA_SERVICE" "$@"
    ;;
  *)
    exec "$@"
    ;;
esac

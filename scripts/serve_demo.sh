#!/usr/bin/env bash
# Serve the platform: a Celery worker (both queues, with the periodic reaper) in the background and
# the web server (gunicorn) in the foreground. Ctrl-C stops both. `--stop` stops a running demo.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var/log
PIDFILE=var/demo.pids

stop() {
  if [ -f "$PIDFILE" ]; then
    while read -r pid; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done < "$PIDFILE"
    rm -f "$PIDFILE"
  fi
}
if [ "${1:-}" = "--stop" ]; then stop; echo "demo stopped"; exit 0; fi

HOST=${1:-127.0.0.1}
PORT=${2:-8000}
stop
setsid .venv/bin/celery -A evalsite worker -Q gpu,cpu -P solo -c 1 -n demo@%h -B \
  -s var/celerybeat-schedule -l INFO >var/log/worker.log 2>&1 &
echo $! >>"$PIDFILE"
setsid .venv/bin/gunicorn evalsite.wsgi --bind "$HOST:$PORT" --workers 2 --threads 4 \
  --access-logfile var/log/access.log --error-logfile var/log/web.log &
echo $! >>"$PIDFILE"
trap 'stop; exit 0' INT TERM

for _ in $(seq 60); do curl -fs -o /dev/null "http://$HOST:$PORT/admin/login/" && break; sleep 1; done
.venv/bin/python manage.py demo_urls --base "http://$HOST:$PORT"
echo "Logs: var/log/worker.log, var/log/web.log. Ctrl-C (or 'make stop-demo') stops the demo."
wait

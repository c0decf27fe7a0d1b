#!/usr/bin/env bash
# Serve the platform: two Celery workers in the background and the web server (gunicorn) in the
# foreground. Ctrl-C stops all three. `--stop` stops a running demo.
#   demo@    the jobs (gpu and cpu queues), one at a time: a training run occupies it for minutes
#   upkeep@  beat and the periodic tasks it sends (reaper, lost-message sweeper, studies upkeep) on
#            the upkeep queue, so they run on time however long the job in front of demo@ takes
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
setsid .venv/bin/celery -A evalsite worker -Q gpu,cpu -P solo -c 1 -n demo@%h \
  -l INFO >var/log/worker.log 2>&1 &
echo $! >>"$PIDFILE"
setsid .venv/bin/celery -A evalsite worker -Q upkeep -P solo -c 1 -n upkeep@%h -B \
  -s var/celerybeat-schedule -l INFO >var/log/upkeep.log 2>&1 &
echo $! >>"$PIDFILE"
setsid .venv/bin/gunicorn evalsite.wsgi --bind "$HOST:$PORT" --workers 2 --threads 4 \
  --access-logfile var/log/access.log --error-logfile var/log/web.log &
echo $! >>"$PIDFILE"
trap 'stop; exit 0' INT TERM

for _ in $(seq 60); do curl -fs -o /dev/null "http://$HOST:$PORT/admin/login/" && break; sleep 1; done
.venv/bin/python manage.py demo_urls --base "http://$HOST:$PORT"
echo "Logs: var/log/worker.log, var/log/upkeep.log, var/log/web.log. Ctrl-C (or 'make stop-demo') stops the demo."
wait

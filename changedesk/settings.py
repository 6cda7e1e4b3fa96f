"""changedesk settings: every value that differs between machines comes from the environment.

See the README's "Configuration" section for the variables and their defaults.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from changedesk.lib.email_url import parse_email_url
from changedesk.lib.env import (
    env_bool,
    env_int,
    env_list,
    env_str,
    env_timezone,
    secret_key,
)

# Lets the code name the type of a Django class that the type stubs take parameters for, e.g.
# `admin.ModelAdmin[Change]` or `forms.ModelForm[Change]`; it changes nothing else.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR.parent / "var"))).resolve()

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = secret_key(DATA_DIR)
# The key of the RFCs' history chain (changes/history.py). By default SECRET_KEY: set it in
# production, so that SECRET_KEY can be rotated without re-keying the history.
HISTORY_KEY = env_str("HISTORY_KEY", "") or SECRET_KEY
if len(HISTORY_KEY) < 32:
    raise ImproperlyConfigured("HISTORY_KEY must be at least 32 characters long")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The address people reach changedesk at, used for links in e-mail.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "changedesk.accounts",
    "changedesk.changes",
    "changedesk.notifications",
    "changedesk.configuration",
    "changedesk.schedule",
    "changedesk.communication",
    "changedesk.committee",
    "changedesk.standard",
    "changedesk.trustwide",
    "changedesk.patches",
    "changedesk.releases",
    "changedesk.reports",
    "changedesk.adoption",
    "changedesk.spreadsheets",
    "changedesk.signin",
    "changedesk.site",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "changedesk.lib.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "changedesk.lib.middleware.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After LocaleMiddleware and the user: the person's language, else their school's. Last,
    # as it reads the session: a database that cannot be read answers the 503 page inside
    # every header the middleware above sets.
    "changedesk.accounts.languages.PersonLanguageMiddleware",
]

ROOT_URLCONF = "changedesk.urls"
WSGI_APPLICATION = "changedesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "changedesk.accounts.context_processors.site",
                "changedesk.reports.context_processors.menu",
                "changedesk.signin.context_processors.sign_in",
            ],
        },
    },
]

# Databases: SQLite in the data directory unless DATABASE_URL says otherwise.
_default_sqlite = f"sqlite:///{DATA_DIR / 'changedesk.sqlite3'}"
try:
    # Persistent connections, each checked before its first use in a request or a worker's
    # pass: one the database dropped (a restart) is replaced, not failed on.
    _db = dj_database_url.parse(
        env_str("DATABASE_URL", _default_sqlite), conn_max_age=60, conn_health_checks=True
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        # IMMEDIATE takes the write lock when a transaction starts, so two writers queue
        # instead of failing half-way with "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    _db["TEST"] = {"NAME": env_str("SQLITE_TEST_NAME", "") or None}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "changedesk_cache",
    }
}

AUTH_USER_MODEL = "accounts.User"
# Passwords, then what the blocks "OpenID Connect sign-in" and "LDAP sign-in" below add.
AUTHENTICATION_BACKENDS = ["changedesk.signin.backends.PasswordBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "adoption:welcome"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (accounts/throttle.py): failed sign-ins allowed per username within the
# window, then a pause of one window. The ceiling per client address (sign-ins and API
# tokens) is far higher, as a school's NAT or the reverse proxy puts everyone behind one.
LOGIN_ATTEMPTS_LIMIT = env_int("LOGIN_ATTEMPTS_LIMIT", 5)
LOGIN_ATTEMPTS_WINDOW = env_int("LOGIN_ATTEMPTS_WINDOW", 15 * 60)
LOGIN_ATTEMPTS_PER_ADDRESS = env_int("LOGIN_ATTEMPTS_PER_ADDRESS", 100)

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en-gb")
# Times in 24-hour form everywhere, the admin included (see changedesk/formats).
FORMAT_MODULE_PATH = ["changedesk.formats"]
LANGUAGES = [("en-gb", "English"), ("cy", "Cymraeg")]
# The Welsh catalogue (django.po, and the django.mo compiled from it, both committed).
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_timezone("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# E-mail: console in development, SMTP (or any EMAIL_URL) in production.
_email_default = "console://" if DEBUG else "smtp://localhost:25"
globals().update(parse_email_url(env_str("EMAIL_URL", _email_default)))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "changedesk <changedesk@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The outbox worker: attempts before a message is marked failed, and the first retry delay.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
OUTBOX_RETRY_SECONDS = env_int("OUTBOX_RETRY_SECONDS", 60)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "changedesk.accounts.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "changedesk.lib.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["changedesk.lib.api.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "changedesk.lib.paging.IdsFirstPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "changedesk.lib.api.exception_handler",
    # Bounded in size and (JSON) nesting: see changedesk/lib/parsers.py.
    "DEFAULT_PARSER_CLASSES": [
        "changedesk.lib.parsers.JSONParser",
        "changedesk.lib.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "changedesk API",
    "DESCRIPTION": "FITS change management for schools: requests for change, their workflow "
    "and history.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Deep links put a link inside each operation's button, which screen readers may not
    # announce (axe: nested-interactive); the page's template is in templates/drf_spectacular.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation documents every error status it can answer with (lib/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "changedesk.lib.schema.complete",
    ],
    # One name per choice set, whichever field uses it (state, from_state, to_state, …).
    "ENUM_NAME_OVERRIDES": {
        "StateEnum": "changedesk.changes.choices.State",
        "ActionEnum": "changedesk.changes.choices.Action",
        "FeedKindEnum": "changedesk.schedule.models.FeedKind",
        "NoticeStatusEnum": "changedesk.communication.choices.NoticeStatus",
        "ItemKindEnum": "changedesk.configuration.models.ItemKind",
        "MeetingStatusEnum": "changedesk.committee.choices.MeetingStatus",
        "SeverityEnum": "changedesk.patches.choices.Severity",
        "TrustRoleEnum": "changedesk.accounts.choices.TrustRole",
        "RoleEnum": "changedesk.accounts.choices.Role",
        "PeriodKindEnum": "changedesk.schedule.models.PeriodKind",
        "PeriodEnum": "changedesk.reports.models.Period",
        "ImportStateEnum": "changedesk.spreadsheets.models.ImportState",
    },
}

# Security: safe defaults everywhere; the HTTPS-only ones switch on outside DEBUG.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
_https = env_bool("HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _https)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = False
# Behind a reverse proxy: trust its X-Forwarded-Proto, and take the client's address from
# X-Forwarded-For, PROXY_HOPS entries from the right (each trusted proxy appends one).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
# Vendor feeds are fetched from public addresses only, unless this lets a feed on the
# school's own network be fetched (patches/feeds.py).
PATCH_FEEDS_ALLOW_PRIVATE = env_bool("PATCH_FEEDS_ALLOW_PRIVATE", False)
PROXY_HOPS = env_int("PROXY_HOPS", 1)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SILENCED_SYSTEM_CHECKS = [
    "security.W021",  # HSTS preload is the operator's decision
    # The events' covering indexes (changes/0009) hold extra columns on PostgreSQL only; on
    # SQLite they are plain indexes, as meant.
    "models.W040",
]

# --- OpenID Connect sign-in (changedesk/signin) ---
# "Sign in with Microsoft" (Entra ID) or "Sign in with Google" (Workspace), or any other
# OpenID Connect provider: on when OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are all
# set (see the README's "Single sign-on"). The endpoints come from the issuer's discovery
# document unless given. Which people may use it is each school's choice (signin/models.py).
OIDC_ISSUER = env_str("OIDC_ISSUER", "").strip().rstrip("/")
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID", "").strip()
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET", "")
_oidc_given = [
    name
    for name, value in [
        ("OIDC_ISSUER", OIDC_ISSUER),
        ("OIDC_CLIENT_ID", OIDC_RP_CLIENT_ID),
        ("OIDC_CLIENT_SECRET", OIDC_RP_CLIENT_SECRET),
    ]
    if value
]
if 0 < len(_oidc_given) < 3:
    raise ImproperlyConfigured(
        "OpenID Connect sign-in needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET; "
        f"only {', '.join(_oidc_given)} is set"
    )
OIDC_ENABLED = len(_oidc_given) == 3
# The name on the sign-in page's button: "Sign in with Microsoft".
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on").strip() or "single sign-on"
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_TOKEN_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_JWKS_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = ""  # the person is read from the ID token alone
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGO", "RS256")
# The claims any one of which, true, says the provider verified the e-mail address:
# `email_verified` (Google and most), `xms_edov` (Entra ID's optional claim).
OIDC_VERIFIED_EMAIL_CLAIMS = env_list("OIDC_VERIFIED_EMAIL_CLAIMS", ["email_verified"])
# A claim naming the organisation's domain, which must then be one some school allows:
# `hd` for Google Workspace, so that a personal Google account made with a school address
# (verified once, perhaps by someone who has since left) is refused. Empty: not checked.
OIDC_HOSTED_DOMAIN_CLAIM = env_str("OIDC_HOSTED_DOMAIN_CLAIM", "").strip()
OIDC_CLOCK_SKEW = env_int("OIDC_CLOCK_SKEW", 60)
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10)
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "signin:oidc_callback"
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("changedesk.signin.oidc.OIDCBackend")
# --- end of OpenID Connect sign-in ---

# --- LDAP sign-in (changedesk/signin/ldap*.py) ---
# Signing in with the school's Active Directory or OpenLDAP (README, "LDAP sign-in"), on only
# when LDAP_SERVER_URI is set. It needs python-ldap and django-auth-ldap, from
# requirements-ldap.txt (built against Debian's libldap2-dev and libsasl2-dev). The directory
# checks the password; who may come in, and their roles, stay changedesk's
# (changedesk/signin/ldap.py): by default only people with an account already, matched by
# username or e-mail; LDAP_CREATE_USERS=true makes an account, with no roles, for the rest.
LDAP_SERVER_URI = env_str("LDAP_SERVER_URI", "").strip()
if LDAP_SERVER_URI:
    try:
        import ldap
        from django_auth_ldap.config import LDAPSearch
    except ImportError as missing:
        raise ImproperlyConfigured(
            "LDAP_SERVER_URI is set, but python-ldap and django-auth-ldap are not installed: "
            "install libldap2-dev and libsasl2-dev, then `pip install -r requirements-ldap.txt`"
        ) from missing
    _ldaps = LDAP_SERVER_URI.lower().startswith("ldaps://")
    AUTH_LDAP_SERVER_URI = LDAP_SERVER_URI
    # The service account that looks people up (AD: any domain user will do).
    AUTH_LDAP_BIND_DN = env_str("LDAP_BIND_DN", "")
    AUTH_LDAP_BIND_PASSWORD = env_str("LDAP_BIND_PASSWORD", "")
    _search_base = env_str("LDAP_USER_SEARCH_BASE", "")
    if not _search_base:
        raise ImproperlyConfigured(
            "LDAP_USER_SEARCH_BASE must be set with LDAP_SERVER_URI, e.g. "
            "OU=Staff,DC=school,DC=local"
        )
    # Active Directory's logon name by default; OpenLDAP: (uid=%(user)s).
    AUTH_LDAP_USER_SEARCH = LDAPSearch(
        _search_base,
        ldap.SCOPE_SUBTREE,
        env_str("LDAP_USER_FILTER", "(sAMAccountName=%(user)s)"),
    )
    # StartTLS on ldap:// unless turned off (a password crosses the network in the bind);
    # ldaps:// is encrypted already.
    AUTH_LDAP_START_TLS = env_bool("LDAP_START_TLS", not _ldaps)
    if AUTH_LDAP_START_TLS and _ldaps:
        raise ImproperlyConfigured("LDAP_START_TLS is for ldap:// addresses; ldaps:// has TLS")
    _ldap_timeout = env_int("LDAP_TIMEOUT", 5)
    if _ldap_timeout < 1:
        raise ImproperlyConfigured("LDAP_TIMEOUT must be at least 1 (second)")
    AUTH_LDAP_CONNECTION_OPTIONS: dict[int, object] = {
        ldap.OPT_NETWORK_TIMEOUT: _ldap_timeout,
        ldap.OPT_TIMEOUT: _ldap_timeout,
        ldap.OPT_REFERRALS: 0,  # AD's referrals to other domains fail a search
    }
    _ldap_ca_file = env_str("LDAP_CA_FILE", "")
    if _ldap_ca_file:
        if not Path(_ldap_ca_file).is_file():
            raise ImproperlyConfigured(f"LDAP_CA_FILE is not a file: {_ldap_ca_file!r}")
        AUTH_LDAP_CONNECTION_OPTIONS[ldap.OPT_X_TLS_CACERTFILE] = _ldap_ca_file
        AUTH_LDAP_CONNECTION_OPTIONS[ldap.OPT_X_TLS_NEWCTX] = 0  # last: applies the above
    AUTH_LDAP_USER_ATTR_MAP = {
        "first_name": env_str("LDAP_ATTR_FIRST_NAME", "givenName"),
        "last_name": env_str("LDAP_ATTR_LAST_NAME", "sn"),
        "email": env_str("LDAP_ATTR_EMAIL", "mail"),
    }
    AUTH_LDAP_ALWAYS_UPDATE_USER = True  # names and e-mail follow the directory
    AUTH_LDAP_NO_NEW_USERS = not env_bool("LDAP_CREATE_USERS", False)
    AUTHENTICATION_BACKENDS.append("changedesk.signin.ldap.SchoolLDAPBackend")
# --- end of LDAP sign-in ---

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

"""One typed settings object for every process (environment prefix LIANDONG_).

The defaults are the embedded setup: SQLite files in the data directory (`data_dir`,
default `./.data` under the working directory, never under the installed package) and
the local broker that infra/kafka/kafka.sh runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.linkage import FOLLOW_UP_CHECK_DAYS, REMIND_BEFORE_DAYS
from domain.subscriptions import MAX_SUBSCRIPTIONS
from gateways.kafka_access import KafkaAccess, SaslMechanism, SecurityProtocol
from gateways.signing import PublicKey, SigningKey, development_key
from projections.db import pg_dsn_and_schema
from projections.feed import DEFAULT_BACKLOG
from projections.runner import DEFAULT_BATCH_RECORDS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIANDONG_", extra="ignore")

    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, comma separated"
    )
    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    kafka_sasl_mechanism: SaslMechanism | None = Field(
        default=None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with SASL_*)"
    )
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(
        default=None, description="CA certificate of the brokers (with SSL or SASL_SSL)"
    )
    data_dir: Path = Field(
        default=Path(".data"),
        description="where the embedded stores and the demo keys live (relative: to the "
        "working directory)",
    )
    event_store: str = Field(
        default="",
        description="sqlite:///PATH, postgresql://USER:PASS@HOST:PORT/DB[?schema=S] or "
        "memory:// (default: SQLite in data_dir)",
    )
    view_store: str = Field(
        default="",
        description="database of the read models, same URL forms (default: SQLite in data_dir)",
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Threads that run commands and reads (FastAPI runs sync handlers in a pool). More
    # than the stores can serve at once only queue for a connection and for the GIL.
    api_threads: int = Field(default=4, ge=1, le=200)
    topic_prefix: str = Field(default="liandong", description="prefix of every Kafka topic")
    event_partitions: int = Field(
        default=6,
        ge=1,
        le=1000,
        description="partitions of the events topic when it is created (events of one case "
        "stay in one partition, in order; more partitions, more consumers in parallel)",
    )
    units_file: Path | None = Field(default=None, description="units registry JSON (data)")
    environment: Literal["development", "production"] = Field(
        default="development",
        description="production refuses the public development signing keys",
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="the district's Ed25519 private key (PEM) that signs utility orders "
        "(`liandong keys new`); without one, the public development key",
    )
    retired_signing_keys: list[dict[str, str]] = Field(
        default_factory=list,
        description="public JWKs of earlier order-signing keys, still published during a "
        "rotation so orders signed with them verify",
    )
    utility_keys_file: Path | None = Field(
        default=None,
        description='JSON {"power": [JWK, ...], "water": [...], "gas": [...]}: the public '
        "keys each utility signs its receipts with; without it, the development keys",
    )
    relay_transactional_id: str = Field(
        default="liandong-relay", description="one per relay; a restarted relay fences the old one"
    )
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_seconds: float = Field(
        default=0.02, gt=0, le=5, description="how soon the relay looks again while busy"
    )
    relay_idle_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="the longest the relay waits between looks at an idle store (commits in "
        "its own process and, on PostgreSQL, in any process wake it at once)",
    )
    projection_feed_backlog: int = Field(
        default=DEFAULT_BACKLOG,
        ge=0,
        description="a projection this many records behind reads its backlog through a "
        "feed process (projections.feed), using a second core",
    )
    projection_batch_records: int = Field(
        default=DEFAULT_BATCH_RECORDS,
        ge=1,
        # A runner slower than its feed holds a batch's worth of frames waiting (about
        # 1 MB per 1,000 records): at this bound about 100 MB, not gigabytes.
        le=100_000,
        description="the most records a projection applies in one transaction; following "
        "live a batch is what came meanwhile, catching up it fills to this",
    )
    expected_workers: list[str] = Field(
        default_factory=lambda: [
            "relay",
            "receipts",
            "projection:status",
            "projection:audit",
            "reminders",
            "projection:notify",
            "webhooks",
        ],
        description="workers /health expects to be running (each reports a heartbeat)",
    )
    follow_up_check_days: int = Field(
        default=FOLLOW_UP_CHECK_DAYS,
        ge=1,
        le=3650,
        description="days after 销号 by which the town re-checks the enterprise (回头看 task)",
    )
    remind_before_days: float = Field(
        default=REMIND_BEFORE_DAYS,
        gt=0,
        le=60,
        description="days before a deadline its unit is first reminded (then on the day; "
        "past it, an automatic supervision notice)",
    )
    reminders_interval_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="how often `liandong reminders` looks"
    )
    webhook_signing_key_file: Path | None = Field(
        default=None,
        description="the Ed25519 private key (PEM) that signs webhook deliveries (Standard "
        "Webhooks v1a); without one, the public development key, which production refuses",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="let subscriptions post to loopback and private addresses (tests only)",
    )
    webhook_allow_http: bool = Field(
        default=False, description="let subscriptions post over plain http (tests only)"
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=100, description="failed attempts before a delivery is dead-lettered"
    )
    webhook_backoff_base_seconds: float = Field(default=1.0, gt=0, le=3600)
    webhook_backoff_cap_seconds: float = Field(default=600.0, gt=0, le=86_400)
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="an endpoint that has not answered by then failed"
    )
    webhook_lanes: int = Field(
        default=256,
        ge=1,
        le=4096,
        description="subscriptions one notify process posts to at once (keep it at least the "
        "units times their subscriptions, so a slow endpoint never waits for a free lane)",
    )
    webhook_max_subscriptions_per_unit: int = Field(
        default=MAX_SUBSCRIPTIONS, ge=1, le=100, description="live subscriptions a unit may keep"
    )
    webhook_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="how long a notify process owns a subscription's lane without renewing it "
        "(after a crash, another process takes the lane over after this long)",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="request size limit")
    evidence_store: str = Field(
        default="",
        description="where evidence files are kept: a directory, or s3://BUCKET[/PREFIX] on "
        "any S3-compatible object store (default: data_dir/evidence)",
    )
    evidence_s3_endpoint: str | None = Field(
        default=None,
        description="the object store's URL when it is not AWS (MinIO, Ceph, a cloud's OSS); "
        "credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    )
    evidence_s3_region: str | None = Field(default=None, description="the object store's region")
    evidence_s3_access_key_id: str | None = Field(
        default=None,
        description="the object store's access key (default: boto3's own chain, e.g. "
        "AWS_ACCESS_KEY_ID or an instance role)",
    )
    evidence_s3_secret_access_key: SecretStr | None = Field(
        default=None, description="its secret, with evidence_s3_access_key_id"
    )
    pdf_font: Path | None = Field(
        default=None,
        description="a CJK font for PDFs (default: Debian's Noto Sans CJK, fonts-noto-cjk)",
    )
    evidence_max_bytes: int = Field(
        default=25 * 1_048_576,
        ge=1024,
        le=2 * 1024**3,
        description="the largest evidence file accepted (a scanned notice, a phone's photo)",
    )
    request_read_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="a client that sends no body byte for this long gets 408",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="bearer token the monitoring system presents at /metrics and for the "
        "details of /health; without one, both are for clients on this machine (loopback)",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="origins allowed by CORS (none by default)"
    )

    @model_validator(mode="after")
    def _complete(self) -> Settings:
        # At start, naming the settings, rather than at the first Kafka client.
        self.kafka()
        if self.environment == "production":
            # The development keys are public: orders signed with them prove nothing.
            missing = [
                name
                for name, value in (
                    ("LIANDONG_SIGNING_KEY_FILE", self.signing_key_file),
                    ("LIANDONG_UTILITY_KEYS_FILE", self.utility_keys_file),
                    ("LIANDONG_WEBHOOK_SIGNING_KEY_FILE", self.webhook_signing_key_file),
                )
                if value is None
            ]
            if missing:
                raise ValueError(
                    f"production refuses the public development keys: set {', '.join(missing)}"
                    " (liandong keys new)"
                )
        root = self.data_dir.resolve()
        if not self.event_store:
            self.event_store = f"sqlite:///{root / 'liandong-events.sqlite'}"
        if not self.view_store:
            self.view_store = f"sqlite:///{root / 'liandong-views.sqlite'}"
        if not self.evidence_store:
            self.evidence_store = str(root / "evidence")
        return self

    def district_key(self) -> SigningKey:
        """The key that signs utility orders."""
        if self.signing_key_file is not None:
            return SigningKey.load(self.signing_key_file)
        return development_key("district")

    def webhook_key(self) -> SigningKey:
        """The key that signs webhook deliveries (its own: not the order-signing key)."""
        if self.webhook_signing_key_file is not None:
            return SigningKey.load(self.webhook_signing_key_file)
        if self.environment == "production":
            raise ValueError(
                "production refuses the public development webhook key: set "
                "LIANDONG_WEBHOOK_SIGNING_KEY_FILE (liandong keys new)"
            )
        return development_key("webhooks")

    def district_public_keys(self) -> list[PublicKey]:
        """Every key an order may be signed with: the current one, then retired ones."""
        retired = [PublicKey.from_jwk(jwk) for jwk in self.retired_signing_keys]
        return [self.district_key().public(), *retired]

    def utility_public_keys(self) -> dict[str, list[PublicKey]]:
        """Per utility, the keys its receipts may be signed with."""
        if self.utility_keys_file is None:
            return {u: [development_key(u).public()] for u in ("power", "water", "gas")}
        raw = json.loads(self.utility_keys_file.read_text(encoding="utf-8"))
        return {u: [PublicKey.from_jwk(j) for j in jwks] for u, jwks in raw.items()}

    def kafka(self) -> KafkaAccess:
        """The cluster and how to authenticate to it (raises ValueError when a SASL
        protocol lacks its mechanism, username or password)."""
        password = self.kafka_sasl_password
        return KafkaAccess(
            bootstrap=self.kafka_bootstrap,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=password.get_secret_value() if password else None,
            ssl_cafile=self.kafka_ssl_cafile,
        )

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing environment (PERSISTENCE_MODULE and friends) for `event_store`."""
        return store_env(self.event_store)


def store_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if path not in (":memory:", "/:memory:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}
    if parts.scheme in ("postgresql", "postgres"):
        _, schema = pg_dsn_and_schema(url)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.lstrip("/"),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or ""),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": "5",
        }
        if schema is not None:
            env["POSTGRES_SCHEMA"] = schema
        return env
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///, postgresql:// or memory://")

"""How our processes reach the Kafka cluster: its bootstrap servers and, for a cluster
that asks for them, the security settings (TLS, SASL) that every client must use.

Every place that makes a kafka-python client takes a `KafkaAccess` or a plain bootstrap
string (a PLAINTEXT cluster, as in development and tests) and builds the client from
`access(target).options()`, so a secured cluster is configured once, in settings.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
_ENV = "LIANDONG_KAFKA_ACCESS"  # how a parent hands its access to a child process


@dataclass(frozen=True)
class KafkaAccess:
    bootstrap: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None  # the CA that signed the brokers' certificates

    def __post_init__(self) -> None:
        if self.uses_sasl and not (
            self.sasl_mechanism and self.sasl_username and self.sasl_password
        ):
            raise ValueError(
                f"kafka security protocol {self.security_protocol} needs a SASL mechanism, "
                "username and password"
            )

    @property
    def plaintext(self) -> bool:
        return self.security_protocol == "PLAINTEXT"

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def options(self) -> dict[str, Any]:
        """Keyword arguments for KafkaProducer, KafkaConsumer and KafkaAdminClient."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.uses_sasl:
            # kafka-python takes these names for SCRAM too.
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password,
            }
        if self.ssl_cafile and self.uses_tls:
            options["ssl_cafile"] = self.ssl_cafile
        return options

    def environment(self) -> dict[str, str]:
        """For a child process (the projection feed): in its environment, not on its
        command line, where any user of the machine could read the password."""
        return {_ENV: orjson.dumps(asdict(self)).decode()}

    @classmethod
    def from_environment(cls, bootstrap: str) -> KafkaAccess:
        given = os.environ.get(_ENV)
        return cls(**orjson.loads(given)) if given else cls(bootstrap)

    def __str__(self) -> str:  # in logs and messages: never the password
        return f"{self.bootstrap} ({self.security_protocol})"


def access(target: str | KafkaAccess) -> KafkaAccess:
    return target if isinstance(target, KafkaAccess) else KafkaAccess(target)


Kafka = str | KafkaAccess  # a bootstrap string means a PLAINTEXT cluster

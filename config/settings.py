"""Every setting Newsdesk has, validated once at start-up.

Values come from environment variables prefixed ``NEWSDESK_`` and from a ``.env`` file in the
working directory. :func:`load_settings` turns a validation failure into one readable line
(``SettingsError``) so that the command line can print it and exit with status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "NEWSDESK_"


def _default_articles_dir() -> Path:
    """The repository's ``seeds/`` when running from a checkout, else ``./seeds``."""
    shipped = REPO_ROOT / "seeds"
    return shipped if shipped.is_dir() else Path.cwd() / "seeds"


def _default_data_dir() -> Path:
    """A ``var/`` folder beside the seeds: state stays with the checkout, out of git."""
    return REPO_ROOT / "var" if (REPO_ROOT / "seeds").is_dir() else Path.cwd() / "var"


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line naming the variable."""


class Settings(BaseSettings):
    """All of Newsdesk's configuration. Field ``x`` is read from ``NEWSDESK_X``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    # --- Telegram -------------------------------------------------------------------------
    telegram_token: SecretStr | None = Field(
        default=None, description="Bot token from @BotFather (secret: never logged)."
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API base URL; the token is appended. Tests use http://127.0.0.1:PORT/bot.",
    )
    telegram_file_url: str | None = Field(
        default=None,
        description="Bot API file URL; default derived from the API URL (…/bot -> …/file/bot).",
    )
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), description="Comma-separated numeric Telegram user ids of admins."
    )
    webhook_url: str | None = Field(
        default=None, description="Public HTTPS URL for webhook mode; unset means long polling."
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="Secret token Telegram sends with each webhook call."
    )
    webhook_listen: str = Field(default="127.0.0.1", description="Webhook listen address.")
    webhook_port: int = Field(default=8443, ge=1, le=65535, description="Webhook listen port.")
    user_rate_limit: int = Field(
        default=20, ge=1, description="Questions one user may ask per rate window."
    )
    user_rate_window_s: float = Field(default=60.0, gt=0, description="Rate window in seconds.")
    max_question_chars: int = Field(
        default=300, ge=20, le=4000, description="Longer questions are cut to this length."
    )

    # --- Corpus and state -----------------------------------------------------------------
    articles_dir: Path = Field(
        default_factory=_default_articles_dir,
        description="Folder of article files imported as the corpus.",
    )
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the article store, the index and other state live.",
    )
    max_article_bytes: int = Field(
        default=5_000_000,
        ge=1_000,
        description="Article files or pages larger than this are refused.",
    )
    fetch_timeout_s: float = Field(default=10.0, gt=0, description="Timeout for /add URL fetches.")

    # --- Retrieval and answering ----------------------------------------------------------
    bm25_variant: Literal["plus", "okapi"] = Field(
        default="plus", description="BM25 formulation (rank_bm25's BM25Plus or BM25Okapi)."
    )
    bm25_k1: float = Field(default=0.9, gt=0, le=10, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(default=0.4, ge=0, le=1, description="BM25 length normalisation.")
    bm25_delta: float = Field(default=1.0, ge=0, le=5, description="BM25Plus lower bound.")
    bm25_epsilon: float = Field(default=0.25, ge=0, le=1, description="BM25Okapi IDF floor.")
    paragraph_weight: float = Field(
        default=0.5,
        ge=0,
        le=5,
        description="Weight of the paragraph score fused into a sentence's.",
    )
    candidate_passages: int = Field(
        default=30, ge=1, le=1000, description="Passages whose sentences compete for the answer."
    )
    candidate_sentences: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="Best single sentences added to those of the best passages (0: none).",
    )
    alternatives: int = Field(default=9, ge=0, le=50, description="Alternatives kept per answer.")
    answer_threshold: float = Field(
        default=0.3, ge=0, le=1, description="Decline when answer confidence is below this."
    )
    max_passage_sentences: int = Field(
        default=8, ge=1, le=100, description="Long paragraphs are split into windows this long."
    )

    # --- Search backend (index/backends) ---------------------------------------------------
    search_backend: Literal["embedded", "sphinx"] = Field(
        default="embedded",
        description="embedded: the built-in index; sphinx: Sphinx/Manticore shards (SHARDS).",
    )
    shards: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description=(
            "Comma-separated shards, in order; each [cluster/]host:port[|host:port...] "
            "(replicas of one shard, and its Manticore replication cluster)."
        ),
    )
    shard_timeout_s: float = Field(
        default=2.0, gt=0, le=60, description="Connect and read timeout for one shard."
    )

    # --- Semantic reranker (the ``semantic`` extra) ---------------------------------------
    reranker: Literal["auto", "semantic", "lexical"] = Field(
        default="auto",
        description="auto: the semantic reranker when the extra is installed, else lexical.",
    )
    semantic_weight: float = Field(
        default=0.2, ge=0, le=1, description="Model share of the fused score (the rest: BM25)."
    )
    semantic_depth: int = Field(
        default=50, ge=1, le=500, description="BM25 candidates the model rescores."
    )
    semantic_precompute_max: int = Field(
        default=50_000,
        ge=0,
        description="A Desk embeds corpora up to this many sentences in the background.",
    )
    semantic_threads: int = Field(
        default=0, ge=0, le=256, description="Encoder threads (0: one per core)."
    )

    # --- Operations -----------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> object:
        """Accept ``"1, 2,3"`` as well as a list; reject anything that is not a number."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            ids = []
            for part in parts:
                if not part.lstrip("-").isdigit():
                    raise ValueError(f"{part!r} is not a numeric Telegram user id")
                ids.append(int(part))
            return frozenset(ids)
        return value

    @field_validator("shards", mode="before")
    @classmethod
    def _parse_shards(cls, value: object) -> object:
        """Accept ``"h1:9306, h2:9306"``; each entry must be host:port with a valid port."""
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            return value
        shards = []
        for item in (str(i).strip() for i in items):
            if not item:
                continue
            cluster, _, replicas = item.rpartition("/")
            if cluster and not cluster.replace("_", "a").isalnum():
                raise ValueError(f"{item!r}: cluster name {cluster!r} is not a plain name")
            for replica in replicas.split("|"):
                host, _, port = replica.strip().rpartition(":")
                if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                    raise ValueError(f"{item!r} is not [cluster/]host:port[|host:port...]")
            shards.append(item)
        if len(set(shards)) != len(shards):
            raise ValueError("a shard address is listed twice")
        return tuple(shards)

    @model_validator(mode="after")
    def _check_backend(self) -> Settings:
        if self.search_backend == "sphinx":
            if not self.shards:
                raise ValueError(
                    "NEWSDESK_SEARCH_BACKEND=sphinx needs NEWSDESK_SHARDS=host:port,..."
                )
            if self.candidate_sentences:
                raise ValueError(
                    "NEWSDESK_CANDIDATE_SENTENCES must be 0 with the sphinx backend "
                    "(it retrieves passages only)"
                )
        return self

    @field_validator("telegram_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _derive_file_url(self) -> Settings:
        if self.telegram_file_url is None:
            base = self.telegram_api_url
            self.telegram_file_url = (
                base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"
            )
        return self

    @property
    def store_path(self) -> Path:
        """The SQLite article store."""
        return self.data_dir / "newsdesk.sqlite3"

    @property
    def index_dir(self) -> Path:
        """The derived search index (rebuildable from the store)."""
        return self.data_dir / "index"

    @property
    def embeddings_dir(self) -> Path:
        """Sentence embeddings of the semantic reranker, keyed by sentence text: a cache
        shared by the configured index and the ``--articles`` ones (never their state)."""
        return self.cache_dir / "embeddings"

    @property
    def cache_dir(self) -> Path:
        """Indexes built for ``--articles`` folders, keyed by the folder's content."""
        return self.data_dir / "cache"

    def require_token(self) -> str:
        """The bot token, or a clear error when it is missing."""
        if self.telegram_token is None or not self.telegram_token.get_secret_value().strip():
            raise SettingsError(f"{ENV_PREFIX}TELEGRAM_TOKEN: not set (the bot needs a token)")
        return self.telegram_token.get_secret_value().strip()


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings; raise :class:`SettingsError` with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        name = f"{ENV_PREFIX}{field.upper()}"
        raise SettingsError(f"{name}: {first['msg']}") from None

"""Settings resolve env over `.env` over defaults, and refuse bad values with a clear error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from chicrime.errors import ConfigError
from chicrime.settings import Settings, load_settings


def write_dotenv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text)
    return path


def test_defaults_match_the_spec(tmp_path):
    """With no env and no `.env` file every setting has the default SPEC §3 gives."""
    settings = load_settings(environ={}, dotenv_path=tmp_path / ".env")

    assert settings == Settings()
    assert settings.dataset_id == "ijzp-q8t2"
    assert settings.soda_base_url == "https://data.cityofchicago.org"
    assert settings.soda_app_token is None
    assert settings.start_date is None
    assert settings.backfill_days == 14
    assert settings.page_limit == 50_000
    assert settings.data_dir == Path("data")
    assert settings.map_style == "carto-positron"
    assert settings.layout.state_db == Path("data/state/chicrime.db")


def test_first_window_start_defaults_to_a_year_before_today(tmp_path):
    """Without START_DATE the first run starts 365 days before today."""
    settings = load_settings(environ={}, dotenv_path=tmp_path / ".env")

    assert settings.first_window_start(dt.date(2024, 3, 1)) == dt.date(2023, 3, 2)
    assert settings.first_window_start(dt.date(2025, 1, 10)) == dt.date(2024, 1, 11)


def test_first_window_start_uses_start_date_when_set(tmp_path):
    """START_DATE, when set, is the first run's window start whatever today is."""
    settings = load_settings(environ={"START_DATE": "2001-01-01"}, dotenv_path=tmp_path / ".env")

    assert settings.start_date == dt.date(2001, 1, 1)
    assert settings.first_window_start(dt.date(2024, 3, 1)) == dt.date(2001, 1, 1)


def test_every_variable_is_read_from_the_environment(tmp_path):
    """Each documented variable, set in the environment, lands typed in its field."""
    environ = {
        "CHI_CRIME_DATASET_ID": "abcd-1234",
        "SODA_BASE_URL": "http://127.0.0.1:8080",
        "SODA_APP_TOKEN": "token-1",
        "START_DATE": "2020-02-29",
        "BACKFILL_DAYS": "0",
        "PAGE_LIMIT": "1000",
        "DATA_DIR": "/srv/chicrime",
        "MAP_STYLE": "white-bg",
        "LOG_LEVEL": "debug",
        "LOG_FORMAT": "JSON",
        "HTTP_TIMEOUT": "2.5",
        "RETRY_ATTEMPTS": "3",
        "RETRY_MAX_SECONDS": "0",
        "LAKE_URL": "s3://chicrime-lake/chicago/",
        "LAKE_POLL_SECONDS": "5",
        "LAKE_RETENTION_HOURS": "0",
        "CACHE_URL": "redis://cache.internal:6379/2",
    }

    settings = load_settings(environ=environ, dotenv_path=tmp_path / ".env")

    assert settings == Settings(
        dataset_id="abcd-1234",
        soda_base_url="http://127.0.0.1:8080",
        soda_app_token="token-1",
        start_date=dt.date(2020, 2, 29),
        backfill_days=0,
        page_limit=1000,
        data_dir=Path("/srv/chicrime"),
        map_style="white-bg",
        log_level="DEBUG",
        log_format="json",
        http_timeout=2.5,
        retry_attempts=3,
        retry_max_seconds=0.0,
        lake_url="s3://chicrime-lake/chicago",
        lake_poll_seconds=5.0,
        lake_retention_hours=0.0,
        cache_url="redis://cache.internal:6379/2",
    )


def test_dotenv_file_overrides_defaults(tmp_path):
    """Values in the `.env` file replace the defaults."""
    dotenv = write_dotenv(tmp_path, "BACKFILL_DAYS=7\nPAGE_LIMIT=100\nMAP_STYLE=white-bg\n")

    settings = load_settings(environ={}, dotenv_path=dotenv)

    assert (settings.backfill_days, settings.page_limit, settings.map_style) == (7, 100, "white-bg")


def test_environment_overrides_dotenv_file(tmp_path):
    """An env var wins over the same variable in `.env`; other `.env` values still apply."""
    dotenv = write_dotenv(tmp_path, "BACKFILL_DAYS=7\nPAGE_LIMIT=100\n")

    settings = load_settings(environ={"BACKFILL_DAYS": "21"}, dotenv_path=dotenv)

    assert (settings.backfill_days, settings.page_limit) == (21, 100)


def test_empty_values_count_as_unset(tmp_path):
    """Empty or blank values, in env or `.env`, fall back to the default."""
    dotenv = write_dotenv(tmp_path, "PAGE_LIMIT=\nMAP_STYLE=   \n")

    settings = load_settings(
        environ={"BACKFILL_DAYS": "", "START_DATE": "  ", "SODA_APP_TOKEN": ""},
        dotenv_path=dotenv,
    )

    assert settings == Settings()


def test_empty_env_value_falls_back_to_dotenv_value(tmp_path):
    """An env var set to an empty value is unset, so the `.env` value for it applies."""
    dotenv = write_dotenv(tmp_path, "BACKFILL_DAYS=7\n")

    settings = load_settings(environ={"BACKFILL_DAYS": ""}, dotenv_path=dotenv)

    assert settings.backfill_days == 7


def test_trailing_slash_is_stripped_from_base_url(tmp_path):
    """SODA_BASE_URL loses its trailing slash so `{base}/resource/...` has no double slash."""
    settings = load_settings(
        environ={"SODA_BASE_URL": "https://data.example.org/"}, dotenv_path=tmp_path / ".env"
    )

    assert settings.soda_base_url == "https://data.example.org"


def test_app_token_never_appears_in_repr(tmp_path):
    """The app token is kept but left out of the settings' repr and str."""
    settings = load_settings(
        environ={"SODA_APP_TOKEN": "s3cr3t-app-token"}, dotenv_path=tmp_path / ".env"
    )

    assert settings.soda_app_token == "s3cr3t-app-token"
    assert "s3cr3t-app-token" not in repr(settings)
    assert "s3cr3t-app-token" not in str(settings)


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("BACKFILL_DAYS", "-3", "a whole number of days from 0 to 3650"),
        ("BACKFILL_DAYS", "1.5", "a whole number of days from 0 to 3650"),
        ("START_DATE", "yesterday", "a date as YYYY-MM-DD"),
        ("START_DATE", "2024-13-01", "a date as YYYY-MM-DD"),
        ("PAGE_LIMIT", "0", "a whole number of rows from 1 to 1000000"),
        ("PAGE_LIMIT", "abc", "a whole number of rows from 1 to 1000000"),
        (
            "SODA_BASE_URL",
            "ftp://x",
            "an http(s) URL of a portal root like https://data.cityofchicago.org",
        ),
        ("CHI_CRIME_DATASET_ID", "bad", "a Socrata dataset id like ijzp-q8t2"),
        ("MAP_STYLE", "mapbox", "one of basic, carto-darkmatter, "),
        ("LOG_FORMAT", "xml", "text or json"),
        ("LOG_LEVEL", "loud", "one of DEBUG, INFO, WARNING, ERROR"),
        ("HTTP_TIMEOUT", "0", "seconds from 1 to 3600"),
        ("HTTP_TIMEOUT", "abc", "seconds from 1 to 3600"),
        ("LAKE_URL", "https://bucket", "an S3 address like s3://bucket or s3://bucket/prefix"),
        ("LAKE_URL", "s3://Bucket", "an S3 address like s3://bucket or s3://bucket/prefix"),
        ("LAKE_URL", "s3://bucket/../x", "an S3 address like s3://bucket or s3://bucket/prefix"),
        ("LAKE_URL", "s3://bucket//x", "an S3 address like s3://bucket or s3://bucket/prefix"),
        ("LAKE_POLL_SECONDS", "0", "seconds from 1 to 86400"),
        ("LAKE_RETENTION_HOURS", "-1", "hours from 0 to 8760"),
        ("CACHE_URL", "http://cache:6379", "a Redis address like redis://host:6379/0"),
    ],
)
def test_bad_value_raises_config_error_naming_variable_and_form(
    tmp_path, variable, value, accepted
):
    """A bad value raises ConfigError (exit code 2) naming the variable, value and accepted form."""
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={variable: value}, dotenv_path=tmp_path / ".env")

    message = str(caught.value)
    assert message.startswith(f"{variable}={value!r} is not valid: expected {accepted}")
    assert caught.value.variable == variable
    assert caught.value.exit_code == 2


def test_cache_url_password_is_a_secret_even_in_errors(tmp_path):
    """The password in CACHE_URL is one of the settings' secrets (masked in output and logs),
    and a CACHE_URL refused for its form is shown with the password masked."""
    settings = load_settings(
        environ={"CACHE_URL": "redis://:hunter2@cache:6379/0", "SODA_APP_TOKEN": "t0ken"},
        dotenv_path=tmp_path / ".env",
    )
    assert settings.secrets == ("t0ken", "hunter2")
    assert "hunter2" not in repr(settings)

    with pytest.raises(ConfigError) as caught:
        load_settings(
            environ={"CACHE_URL": "http://user:hunter2@cache:6379"}, dotenv_path=tmp_path / ".env"
        )
    assert str(caught.value).startswith("CACHE_URL='http://user:***@cache:6379' is not valid")
    with pytest.raises(ConfigError) as caught:
        load_settings(
            environ={"CACHE_URL": "cache:6379/0?Password=hunter2&db=1"},
            dotenv_path=tmp_path / ".env",
        )
    assert str(caught.value).startswith("CACHE_URL='cache:6379/0?Password=***&db=1' is not")


def test_bad_value_in_dotenv_file_raises_config_error(tmp_path):
    """A bad value in `.env` is refused like one in the environment."""
    dotenv = write_dotenv(tmp_path, "PAGE_LIMIT=lots\n")

    with pytest.raises(ConfigError, match=r"^PAGE_LIMIT='lots' is not valid"):
        load_settings(environ={}, dotenv_path=dotenv)

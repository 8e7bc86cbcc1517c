"""tap-rest: a Singer tap for any REST API a `rest_api` config describes.

The setting `rest_api` (a JSON or YAML file, or an object) is compiled into stream
classes at start-up (`rest_taps.rest.streams`); everything else is the shared base's:
settings, retries, rate gate, redirects, deadlines, concurrency, schema evolution,
redaction. The credentials of `client.auth` are settings of their own (`token`,
`api_key`, `username`, `password`), which win over values the file holds; `api_url`
wins over `client.base_url`.
"""

from __future__ import annotations

import copy
import typing as t
from functools import cached_property
from pathlib import Path

from singer_sdk import typing as th
from singer_sdk.configuration._dict_config import parse_environment_config
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._classproperty import classproperty

from rest_taps.common.auth import AuthPlacement
from rest_taps.common.settings import common_properties
from rest_taps.common.tap import BaseTap
from rest_taps.rest import config as rest_config
from rest_taps.rest.streams import stream_types

if t.TYPE_CHECKING:
    from singer_sdk.authenticators import APIAuthenticatorBase

#: The config of the built-in sandbox's API: the default of `rest_api`.
EXAMPLE = Path(__file__).parent / "example.yaml"
_EXAMPLE_API = rest_config.read(rest_config.load(str(EXAMPLE)))


def _settings() -> dict:
    schema = th.PropertiesList(
        th.Property(
            "rest_api",
            th.CustomType({"type": ["object", "string"]}),
            title="REST API config",
            description=(
                "The API as a `rest_api` config (`client`, `resource_defaults`, "
                "`resources`): a path to a JSON or YAML file, or the object itself. "
                "Default: the config of the built-in sandbox's API."
            ),
        ),
        *(
            th.Property(
                name,
                th.StringType,
                secret=True,
                title=name,
                description=(
                    f"The `{name}` of the config's `client.auth` (wins over a value the "
                    "file holds). Required when the auth uses it, unless `sandbox` is true."
                ),
            )
            for name in rest_config.SECRET_SETTINGS
        ),
        *common_properties(),
    ).to_dict()
    schema["properties"]["api_url"]["description"] = (
        "Base URL of the API; overrides the config's `client.base_url`."
    )
    schema["required"] = []
    return schema


class _NoAuth(AuthPlacement):
    """A config without `client.auth`: requests carry no credential."""

    def authenticator(self, credentials: t.Mapping[str, str]) -> APIAuthenticatorBase:
        return _Anonymous()


class _Anonymous:
    """An authenticator that adds nothing (requests' `auth` hook)."""

    auth_headers: t.ClassVar[dict] = {}
    auth_params: t.ClassVar[dict] = {}

    def __call__(self, request: t.Any) -> t.Any:
        return request


class TapRest(BaseTap):
    """Any REST API, described by a `rest_api` config."""

    name = "tap-rest"
    #: The sandbox API's (the default config's); a run uses its own config's.
    auth = _EXAMPLE_API.auth or _NoAuth("header", ())
    stream_types = stream_types(_EXAMPLE_API)
    config_jsonschema = _settings()

    @classproperty
    def _env_var_config(cls) -> dict[str, t.Any]:  # noqa: N805
        """Settings from `TAP_REST_*` variables (`--config ENV`): `rest_api` as given (a
        path or a JSON text), not decoded as JSON because it may be an object."""
        schema = copy.deepcopy(cls.config_jsonschema)
        schema["properties"]["rest_api"] = {"type": ["string"]}
        cls.append_builtin_config(schema)
        return parse_environment_config(schema, cls._env_var_prefix)

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        try:
            api = self.rest_api
        except rest_config.ConfigError as exc:
            if raise_errors:
                raise ConfigValidationError(str(exc), errors=[str(exc)]) from None
            return [str(exc)]
        self.auth = api.auth or _NoAuth("header", ())  # type: ignore[misc]
        self.stream_types = stream_types(api)  # type: ignore[misc]
        for name, value in api.file_secrets.items():
            if not self._config.get(name):
                self._config[name] = value
        if not self._config.get("sandbox"):
            self._config.setdefault("api_url", api.base_url)
        return super()._validate_config(raise_errors=raise_errors)

    @classmethod
    def path_prefix(cls) -> str:
        """None: a config's `client.base_url` may end in a path its resources' paths are
        relative to (`https://host/api/v2/`), so `api_url` may too."""
        return ""

    @cached_property
    def rest_api(self) -> rest_config.RestApi:
        """The `rest_api` setting, read and resolved (problems logged once)."""
        value = self._config.get("rest_api")
        if value is None:
            if not self._config.get("sandbox"):
                self.logger.warning(
                    "Setting 'rest_api' is not set: reading the API of the built-in sandbox's "
                    "config (%s).",
                    EXAMPLE.name,
                )
            return _EXAMPLE_API
        api = rest_config.read(rest_config.load(value))
        for line in api.problems.warnings:
            self.logger.warning("rest_api: %s.", line)
        for line in api.problems.skipped:
            self.logger.warning("rest_api: %s, so the resource is left out.", line)
        return api

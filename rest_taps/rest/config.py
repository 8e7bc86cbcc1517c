"""A `rest_api` config (the `RESTAPIConfig` dict of the config format) read into resources.

`load` takes the setting as given: a path to a JSON or YAML file, a JSON text, or an
object (Meltano passes an object). `read` checks it and resolves what the format leaves
implicit, as the format documents it:

- `client`: `base_url`, `headers`, `auth` (`bearer` `token`; `api_key` `name` (default
  `Authorization`), `api_key`, `location` `header` or `query`; `http_basic` (or `basic`)
  `username`, `password`), a default `paginator`.
- `resource_defaults` merged into each resource: the resource's keys win, except in its
  `endpoint`, whose `params` and `json` are merged key by key.
- `resources`: a name alone (name and path), or an object with `name`, `endpoint` (a path
  alone, or an object; its `path` defaults to the name), `primary_key`,
  `include_from_parent`, `selected`; `write_disposition` is accepted and left to the
  target (a Singer target with keys upserts).
- A child resource names its parent in a placeholder `{resources.<parent>.<field>}` (in
  the path, params, headers or JSON body), or with the older form: a path placeholder
  `{name}` and a param `name: {type: resolve, resource: <parent>, field: <field>}`.
- `incremental` on the endpoint (`cursor_path`, `start_param`, `end_param`,
  `initial_value`, `end_value`, `row_order`), or as a param of `type: incremental`.
- `response_actions`: `{status_code, content, action: ignore}`.
- A path whose last segment is a placeholder (`posts/{resources.posts.id}`) reads one
  entity: its records default to the whole body (`$`) and its paging to one page.

What a config file cannot carry (Python callables: custom paginators, auth classes,
`convert`, response hooks, processing steps) makes its resource be left out with a
warning naming it; a malformed config ends the run before any request, with one line.
"""

from __future__ import annotations

import json
import re
import string
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rest_taps.common.auth import AuthPlacement
from rest_taps.common.pagination import Paging
from rest_taps.rest import paging
from rest_taps.rest.selector import PathError, parse

#: Auth type → the secret fields it reads (settings of the same names).
AUTH_SECRETS = {
    "bearer": ("token",),
    "api_key": ("api_key",),
    "http_basic": ("username", "password"),
    "basic": ("username", "password"),
}
SECRET_SETTINGS = ("token", "api_key", "username", "password")
_RESOURCE_KEYS = frozenset(
    {
        "name",
        "endpoint",
        "primary_key",
        "write_disposition",
        "include_from_parent",
        "selected",
        "table_name",
        "columns",
        "max_table_nesting",
        "table_format",
        "merge_key",
        "schema_contract",
        "parallelized",
        "processing_steps",
        "nested_hints",
        "references",
        "file_format",
    }
)
_ENDPOINT_KEYS = frozenset(
    {
        "path",
        "method",
        "params",
        "json",
        "data",
        "headers",
        "paginator",
        "data_selector",
        "response_actions",
        "incremental",
    }
)
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})


class ConfigError(ValueError):
    """A config this tap cannot read: one line naming the place."""


@dataclass
class Problems:
    """What reading a config found: fatal errors, resources left out, warnings."""

    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def fatal(self, line: str) -> None:
        self.errors.append(line)

    def skip(self, line: str) -> None:
        self.skipped.append(line)

    def warn(self, line: str) -> None:
        self.warnings.append(line)


@dataclass(frozen=True)
class Parent:
    """A child resource's parent, and the parent fields the child reads."""

    resource: str
    #: Placeholder expression (`resources.issues.number`) → parent field path.
    fields: dict[str, str]
    include: tuple[str, ...]

    def key(self, field_path: str) -> str:
        """The name a parent field has in the child's records: `_<parent>_<field>`."""
        return f"_{self.resource}_{field_path.replace('.', '_')}"


@dataclass(frozen=True)
class Incremental:
    """A resource's incremental cursor."""

    cursor_path: str
    start_param: str | None = None
    end_param: str | None = None
    initial_value: t.Any = None
    end_value: t.Any = None
    #: `row_order`: `desc` stops paging at the first page that reaches before the start,
    #: `asc` lets the bookmark advance (and resume) page by page.
    newest_first: bool = False
    oldest_first: bool = False


@dataclass
class Resource:
    """One resource of the config, merged with the defaults and resolved."""

    name: str
    path: str
    method: str = "GET"
    params: dict[str, t.Any] = field(default_factory=dict)
    headers: dict[str, t.Any] = field(default_factory=dict)
    json: t.Any = None
    data: t.Any = None
    data_selector: str | None = None
    paginator: Paging | None = None
    primary_key: tuple[str, ...] = ()
    incremental: Incremental | None = None
    #: (status code or None, content or None) of responses to ignore.
    ignore: tuple[tuple[int | None, str | None], ...] = ()
    parent: Parent | None = None
    selected: bool = True


@dataclass
class RestApi:
    """The config read: client settings and resources (parents before children)."""

    base_url: str
    auth: AuthPlacement | None
    #: Secret values the file itself gives (settings of the same name win).
    file_secrets: dict[str, str]
    headers: dict[str, str]
    resources: list[Resource]
    problems: Problems


def load(value: t.Any) -> dict:
    """The config object from the setting's value: an object, a JSON text, or a path to
    a JSON or YAML file."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or not value.strip():
        msg = "Setting 'rest_api' must be a path to a JSON or YAML file, or an object."
        raise ConfigError(msg)
    text = value.strip()
    if text.startswith("{"):
        source = "the JSON text"
    else:
        path = Path(text).expanduser()
        if not path.is_file():
            msg = f"Setting 'rest_api': no file at {text!r}."
            raise ConfigError(msg)
        source = str(path)
        text = path.read_text(encoding="utf-8")
    try:
        is_json = source.endswith(".json") or text.startswith("{")
        loaded = json.loads(text) if is_json else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        first_line = str(exc).splitlines()[0]
        msg = f"Setting 'rest_api': {source} is not valid JSON/YAML ({first_line})."
        raise ConfigError(msg) from None
    if not isinstance(loaded, dict):
        msg = f"Setting 'rest_api': {source} must hold an object with 'client' and 'resources'."
        raise ConfigError(msg)
    return loaded


def read(config: dict) -> RestApi:
    """The config checked and resolved; `ConfigError` names the first fatal problem."""
    problems = Problems()
    client = config.get("client")
    if not isinstance(client, dict):
        raise ConfigError("rest_api: 'client' must be an object with 'base_url'.")
    base_url = client.get("base_url")
    if not isinstance(base_url, str) or not base_url:
        raise ConfigError("rest_api: 'client.base_url' must be a URL.")
    auth, file_secrets = _auth(client.get("auth"))
    headers = client.get("headers") or {}
    if not isinstance(headers, dict):
        raise ConfigError("rest_api: 'client.headers' must be an object.")
    defaults = config.get("resource_defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError("rest_api: 'resource_defaults' must be an object.")
    listed = config.get("resources")
    if not isinstance(listed, list) or not listed:
        raise ConfigError("rest_api: 'resources' must be a non-empty list.")
    client_paginator = client.get("paginator")
    merged = [_merge(defaults, _normalized(item, i)) for i, item in enumerate(listed)]
    names = [m["name"] for m in merged]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"rest_api: resource '{duplicate}' is defined twice.")
    resources: dict[str, Resource] = {}
    for item in merged:
        resource = _resource(item, client_paginator, problems, set(names))
        if resource is not None:
            resources[resource.name] = resource
    if problems.errors:
        raise ConfigError(problems.errors[0])
    for resource in list(resources.values()):
        if resource.parent is not None and resource.parent.resource not in resources:
            problems.skip(
                f"resource '{resource.name}': its parent '{resource.parent.resource}' is left out"
            )
            del resources[resource.name]
    return RestApi(
        base_url=base_url,
        auth=auth,
        file_secrets=file_secrets,
        headers={str(k): str(v) for k, v in headers.items()},
        resources=_parents_first(list(resources.values())),
        problems=problems,
    )


def _auth(auth: t.Any) -> tuple[AuthPlacement | None, dict[str, str]]:
    if auth is None:
        return None, {}
    if not isinstance(auth, dict):
        msg = "rest_api: 'client.auth' must be an object with a 'type' (a string or class "
        raise ConfigError(msg + "names a Python auth class, which a config file cannot carry).")
    kind = auth.get("type")
    if kind is None and "token" in auth:
        kind = "bearer"
    if kind not in AUTH_SECRETS:
        msg = f"rest_api: 'client.auth.type' {kind!r} is not one of bearer, api_key, http_basic."
        raise ConfigError(msg)
    secrets = {k: str(auth[k]) for k in AUTH_SECRETS[kind] if isinstance(auth.get(k), str | int)}
    if kind == "bearer":
        return AuthPlacement.bearer("token"), secrets
    if kind == "api_key":
        name = str(auth.get("name") or "Authorization")
        location = auth.get("location") or "header"
        if location in {"query", "param"}:
            return AuthPlacement.query(name, "api_key"), secrets
        if location != "header":
            msg = f"rest_api: 'client.auth.location' must be header or query, got {location!r}."
            raise ConfigError(msg)
        return AuthPlacement.header(name, "api_key"), secrets
    return AuthPlacement.basic("username", "password"), secrets


def _normalized(item: t.Any, index: int) -> dict:
    """A resource as an object with `name` and an `endpoint` object with a `path`."""
    if isinstance(item, str):
        return {"name": item, "endpoint": {"path": item}}
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        raise ConfigError(f"rest_api: resources[{index}] needs a 'name'.")
    resource = dict(item)
    endpoint = resource.get("endpoint")
    if isinstance(endpoint, str):
        endpoint = {"path": endpoint}
    elif endpoint is None:
        endpoint = {}
    elif not isinstance(endpoint, dict):
        raise ConfigError(f"rest_api: resource '{item['name']}': 'endpoint' must be an object.")
    endpoint = dict(endpoint)
    endpoint.setdefault("path", resource["name"])
    resource["endpoint"] = endpoint
    return resource


def _merge(defaults: dict, resource: dict) -> dict:
    """`resource_defaults` under a resource: the resource wins; in the endpoint, `params`
    and `json` merge key by key."""
    default_endpoint = dict(defaults.get("endpoint") or {})
    endpoint = resource["endpoint"]
    merged_endpoint = {
        **default_endpoint,
        **{k: v for k, v in endpoint.items() if k not in {"params", "json"}},
    }
    for key in ("params", "json"):
        if key in endpoint:
            merged_endpoint[key] = {**(default_endpoint.get(key) or {}), **(endpoint[key] or {})}
    return {**defaults, **resource, "endpoint": merged_endpoint}


def _resource(
    item: dict, client_paginator: t.Any, problems: Problems, names: set[str]
) -> Resource | None:
    name = item["name"]
    where = f"resource '{name}'"
    endpoint = item["endpoint"]
    unknown = sorted(set(item) - _RESOURCE_KEYS)
    if unknown:
        problems.warn(f"{where}: ignores {', '.join(unknown)}")
    unknown = sorted(set(endpoint) - _ENDPOINT_KEYS)
    if unknown:
        problems.warn(f"{where}: endpoint ignores {', '.join(unknown)}")
    if item.get("processing_steps"):
        problems.skip(f"{where}: processing_steps are Python code")
        return None
    path = endpoint.get("path")
    if not isinstance(path, str):
        problems.fatal(f"rest_api: {where}: 'endpoint.path' must be a string.")
        return None
    method = str(endpoint.get("method") or "GET").upper()
    if method not in _METHODS:
        problems.fatal(f"rest_api: {where}: method {method!r} is not an HTTP method.")
        return None
    params = dict(endpoint.get("params") or {})
    incremental = _incremental(endpoint.get("incremental"), params, where, problems)
    parent, path = _parent(item, path, params, problems, names)
    selector = endpoint.get("data_selector")
    paginator_config = endpoint.get("paginator")
    if _one_entity(path):  # `…/{id}`: one object, one page, unless the config says
        selector = "$" if selector is None else selector
        paginator_config = "single_page" if paginator_config is None else paginator_config
    elif paginator_config is None:
        paginator_config = client_paginator
    if selector is not None:
        try:
            parse(str(selector))
        except PathError as exc:
            problems.fatal(f"rest_api: {where}: data_selector: {exc}.")
            return None
    paginator = None
    if not paging.is_auto(paginator_config):
        paginator = paging.build(paginator_config, where, problems)
        if paginator is None:
            return None
    ignore = _ignore(endpoint.get("response_actions"), where, problems)
    if ignore is None:
        return None
    return Resource(
        name=name,
        path=path,
        method=method,
        params=params,
        headers=dict(endpoint.get("headers") or {}),
        json=endpoint.get("json"),
        data=endpoint.get("data"),
        data_selector=None if selector is None else str(selector),
        paginator=paginator,
        primary_key=_keys(item.get("primary_key"), where, problems),
        incremental=incremental,
        ignore=ignore,
        parent=parent,
        selected=item.get("selected", True) is not False,
    )


def _one_entity(path: str) -> bool:
    """Whether a path's last segment is a placeholder (`posts/{id}`): one entity."""
    last = path.split("?", maxsplit=1)[0].rstrip("/").rsplit("/", 1)[-1]
    return re.search(r"\{[\w.\-]+\}", last) is not None


def _keys(value: t.Any, where: str, problems: Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    problems.fatal(f"rest_api: {where}: primary_key must be a field name or a list of them.")
    return ()


def _incremental(config: t.Any, params: dict, where: str, problems: Problems) -> Incremental | None:
    """The endpoint's `incremental`, or a param of `type: incremental` (popped)."""
    start_param = None
    in_params = [
        k for k, v in params.items() if isinstance(v, dict) and v.get("type") == "incremental"
    ]
    if len(in_params) > 1:
        problems.fatal(f"rest_api: {where}: only one incremental param is allowed.")
        return None
    if in_params:
        start_param = in_params[0]
        config = {**params.pop(start_param), "start_param": start_param}
    if config is None:
        return None
    if not isinstance(config, dict) or not isinstance(config.get("cursor_path"), str):
        problems.fatal(f"rest_api: {where}: incremental needs a 'cursor_path'.")
        return None
    if config.get("convert") or config.get("transform"):
        problems.skip(f"{where}: incremental 'convert' is Python code")
        return None
    cursor = config["cursor_path"].removeprefix("$.")
    try:
        steps = parse(cursor)
    except PathError as exc:
        problems.fatal(f"rest_api: {where}: incremental cursor_path: {exc}.")
        return None
    if len(steps) != 1 or not isinstance(steps[0], str):
        problems.fatal(
            f"rest_api: {where}: incremental cursor_path {cursor!r} must name a top-level "
            "field of the records (a Singer bookmark is a top-level property)."
        )
        return None
    return Incremental(
        cursor_path=str(steps[0]),
        start_param=config.get("start_param"),
        end_param=config.get("end_param"),
        initial_value=config.get("initial_value"),
        end_value=config.get("end_value"),
        newest_first=config.get("row_order") == "desc",
        oldest_first=config.get("row_order") == "asc",
    )


def _parent(
    item: dict, path: str, params: dict, problems: Problems, names: set[str]
) -> tuple[Parent | None, str]:
    """The parent a resource reads from, with the path in placeholder form."""
    where = f"resource '{item['name']}'"
    endpoint = item["endpoint"]
    path, resolved = _resolve_params(path, params, where, problems)
    for value in (
        path,
        params,
        endpoint.get("headers"),
        endpoint.get("json"),
        endpoint.get("data"),
    ):
        for expression in _expressions(value):
            head, _, rest = expression.partition(".")
            parent, _, field_path = rest.partition(".")
            if head == "resources" and parent and field_path:
                resolved[expression] = field_path
            elif head != "incremental":
                problems.fatal(
                    f"rest_api: {where}: placeholder {{{expression}}} is not "
                    "{resources.<parent>.<field>} (nor {incremental.<value>})."
                )
    parents = {expression.split(".")[1] for expression in resolved}
    if not parents:
        return None, path
    if len(parents) > 1:
        problems.fatal(f"rest_api: {where}: reads from more than one parent ({sorted(parents)}).")
        return None, path
    parent = parents.pop()
    if parent not in names:
        problems.fatal(f"rest_api: {where}: its parent resource '{parent}' is not defined.")
        return None, path
    include = item.get("include_from_parent") or ()
    if isinstance(include, str):
        include = (include,)
    return Parent(parent, resolved, tuple(include)), path


def _resolve_params(
    path: str, params: dict, where: str, problems: Problems
) -> tuple[str, dict[str, str]]:
    """The older form: params of `type: resolve` (popped) become placeholders
    `{resources.<parent>.<field>}` in the path (or in a query parameter)."""
    resolved: dict[str, str] = {}
    for param, spec in list(params.items()):
        if not (isinstance(spec, dict) and spec.get("type") == "resolve"):
            continue
        params.pop(param)
        parent, field_path = spec.get("resource"), spec.get("field")
        if not isinstance(parent, str) or not isinstance(field_path, str):
            problems.fatal(f"rest_api: {where}: resolve param '{param}' needs resource, field.")
            continue
        expression = f"resources.{parent}.{field_path}"
        if "{" + param + "}" in path:
            path = path.replace("{" + param + "}", "{" + expression + "}")
        else:  # a resolved value sent as a query parameter
            params[param] = "{" + expression + "}"
        resolved[expression] = field_path
    return path, resolved


def _expressions(value: t.Any) -> t.Iterator[str]:
    """The `{…}` placeholders in a string or anywhere in an object (`{{` is a brace)."""
    if isinstance(value, str):
        try:
            for _, name, _, _ in string.Formatter().parse(value):
                if name:
                    yield name
        except ValueError:
            return
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _expressions(key)
            yield from _expressions(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _expressions(inner)


def _ignore(
    actions: t.Any, where: str, problems: Problems
) -> tuple[tuple[int | None, str | None], ...] | None:
    if not actions:
        return ()
    if not isinstance(actions, list):
        problems.fatal(f"rest_api: {where}: response_actions must be a list.")
        return None
    ignore = []
    for action in actions:
        if not isinstance(action, dict) or action.get("action") != "ignore":
            problems.skip(f"{where}: a response action other than 'ignore' is Python code")
            return None
        status, content = action.get("status_code"), action.get("content")
        ignore.append((None if status is None else int(status), content))
    return tuple(ignore)


def _parents_first(resources: list[Resource]) -> list[Resource]:
    ordered: list[Resource] = []
    placed: set[str] = set()
    pending = list(resources)
    while pending:
        ready = [r for r in pending if r.parent is None or r.parent.resource in placed]
        if not ready:
            cycle = ", ".join(r.name for r in pending)
            raise ConfigError(f"rest_api: resources {cycle} are each other's parents.")
        for resource in ready:
            ordered.append(resource)
            placed.add(resource.name)
            pending.remove(resource)
    return ordered


def expand(value: t.Any, values: t.Mapping[str, t.Any], *, keep_type: bool = False) -> t.Any:
    """`value` with its placeholders filled from `values`; with `keep_type`, a string
    that is one placeholder alone becomes the value itself (for JSON bodies)."""
    if isinstance(value, str):
        if "{" not in value and "}" not in value:
            return value
        parsed = list(string.Formatter().parse(value))
        if keep_type and len(parsed) == 1 and not parsed[0][0] and parsed[0][1]:
            return values[parsed[0][1]]
        return "".join(
            literal + ("" if name is None else str(values[name])) for literal, name, _, _ in parsed
        )
    if isinstance(value, dict):
        return {expand(k, values): expand(v, values, keep_type=keep_type) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, values, keep_type=keep_type) for v in value]
    return value

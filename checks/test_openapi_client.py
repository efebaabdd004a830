"""A variant's API through a client generated from its own OpenAPI schema.

``apiseed check --client`` copies this file into each variant's ``tests/`` and runs it with
the variant's fixtures. openapi-python-client generates a client from the schema; that client,
with unexpected statuses raising, drives every operation's success and every error response
the schema declares, against the app served by uvicorn on a loopback port. Each scenario sends its
request to every operation it applies to (an untrusted host to all of them, a body over the
limit to each that takes one, read-only mode to each write...), so a status the service gives
but the schema does not declare fails the test, and so does a declared one that no scenario
reaches: the schema promises exactly what the service does.
"""

import importlib
import json
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
import uvicorn
from openapi_python_client import generate
from openapi_python_client.config import Config, ConfigFile, MetaType
from sqlalchemy.engine import make_url

CLIENT = "api_client"
ALICE = "alice"  # a test user of every variant that logs in (tests/fixtures/users.py)
NO_SUCH_ITEM = 2**31 - 1
BY_ITEM_ID = ("read_item", "update_item", "delete_item")
NOT_WRITES = {"log_in"}  # a POST that read-only mode lets through
SUCCESS = {"create_item": 201, "delete_item": 204, "send_notification": 202}  # others: 200
STARTUP_SECONDS = 30


class Service:
    """The service under test (its settings and schema), its generated client, and the
    declared responses the scenarios have reached so far."""

    def __init__(self, settings: Any, request: pytest.FixtureRequest, folder: Path) -> None:
        package = type(settings).__module__.split(".")[0]
        self.create_app = importlib.import_module(f"{package}.main").create_app
        self.settings = settings
        self.request = request
        schema = self.create_app(settings).openapi()
        self.tags: dict[str, str] = {}
        self.declared: set[tuple[str, int]] = set()
        self.with_body: set[str] = set()
        self.secured: set[str] = set()
        self.writes: set[str] = set()
        for path in schema["paths"].values():
            for method, operation in path.items():
                name = operation["operationId"]
                self.tags[name] = operation["tags"][0]
                self.declared |= {(name, int(status)) for status in operation["responses"]}
                if "requestBody" in operation:
                    self.with_body.add(name)
                if operation.get("security"):
                    self.secured.add(name)
                if method != "get" and name not in NOT_WRITES:
                    self.writes.add(name)
        self.driven: set[tuple[str, int]] = set()
        self.clients: list[Any] = []  # closed as their server stops
        schemes = schema["components"].get("securitySchemes", {})
        self.scheme: dict[str, Any] = next(iter(schemes.values()), {})
        generate_client(schema, folder)

    @property
    def operations(self) -> list[str]:
        return sorted(self.tags)

    def declares(self, operation: str, status: int) -> bool:
        return (operation, status) in self.declared

    def model(self, name: str) -> Any:
        return getattr(importlib.import_module(f"{CLIENT}.models"), name)

    def call(self, operation: str, client: Any, status: int, **arguments: Any) -> Any:
        """``operation`` through the generated client: its answer must be ``status``, declared
        in the schema, and parse as the schema says."""
        assert self.declares(operation, status), f"{operation} does not declare {status}"
        module = importlib.import_module(f"{CLIENT}.api.{self.tags[operation]}.{operation}")
        response = module.sync_detailed(client=client, **arguments)
        assert response.status_code == status, (operation, response.content)
        if status == 204:
            assert response.content == b""
        else:
            assert_as_declared(response.parsed)
        self.driven.add((operation, status))
        return response.parsed

    def call_each(self, operations: Iterable[str], status: int, client: Any) -> None:
        """Each of ``operations``, with arguments it accepts: the answer must be ``status``."""
        for operation in sorted(operations):
            self.call(operation, client, status, **self.arguments(operation))

    @contextmanager
    def served(self, **changes: Any) -> Iterator[str]:
        """The app, with these settings changed, on a loopback port: its base URL."""
        app = self.create_app(self.settings.model_copy(update=changes))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run)
        thread.start()
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while not server.started:
                assert thread.is_alive(), "uvicorn did not start"
                assert time.monotonic() < deadline, "uvicorn did not start in time"
                time.sleep(0.01)
            host, port = server.servers[0].sockets[0].getsockname()[:2]
            yield f"http://{host}:{port}"
        finally:
            for client in self.clients:
                client.get_httpx_client().close()
            self.clients.clear()
            server.should_exit = True
            thread.join(STARTUP_SECONDS)

    def client(self, url: str, credential: str | None = None, **options: Any) -> Any:
        """A client sending ``credential`` as the security scheme says: a bearer token, an API
        key, or nothing."""
        clients = importlib.import_module(f"{CLIENT}.client")
        options["raise_on_unexpected_status"] = True
        if credential is None or not self.scheme:
            client = clients.Client(url, **options)
        else:
            if self.scheme["type"] == "apiKey":
                options |= {"prefix": "", "auth_header_name": self.scheme["name"]}
            client = clients.AuthenticatedClient(url, credential, **options)
        self.clients.append(client)
        return client

    def credential(self, url: str) -> str:
        """A bearer token (logged in through the client) or an API key; nothing without auth."""
        if self.scheme.get("type") == "oauth2":
            form = self.model("BodyLogIn")(
                username=ALICE, password=self.request.getfixturevalue("password")
            )
            return str(self.call("log_in", self.client(url), 200, body=form).access_token)
        if self.scheme.get("type") == "apiKey":
            return str(self.request.getfixturevalue("api_keys")[0])
        return ""

    def arguments(self, operation: str) -> dict[str, Any]:
        """Arguments ``operation`` accepts, naming no item that exists."""
        arguments: dict[str, Any] = {}
        if operation in BY_ITEM_ID:
            arguments["item_id"] = NO_SUCH_ITEM
        if operation == "log_in":
            arguments["body"] = self.model("BodyLogIn")(username=ALICE, password="not it")
        elif operation == "create_item":
            arguments["body"] = self.model("ItemCreate")(name="widget", quantity=3)
        elif operation == "update_item":
            arguments["body"] = self.model("ItemUpdate")(quantity=4)
        elif operation == "send_notification":
            arguments["body"] = self.model("NotificationCreate")(
                email="someone@example.com", message="hello"
            )
        return arguments


def generate_client(schema: dict[str, Any], folder: Path) -> None:
    """openapi-python-client's client for ``schema``, importable as ``api_client``."""
    document = folder / "openapi.json"
    document.write_text(json.dumps(schema), encoding="utf-8")
    config = Config.from_sources(
        ConfigFile(package_name_override=CLIENT, post_hooks=[]),
        MetaType.NONE,
        document,
        "utf-8",
        overwrite=True,
        output_path=folder / CLIENT,
    )
    errors = generate(config=config)
    assert not errors, [str(error) for error in errors]


def assert_as_declared(parsed: Any) -> None:
    """A response has every field its schema declares and no other: the schema marks what is
    always sent as required, so the client types none of it as maybe unset."""
    if isinstance(parsed, list):
        for element in parsed:
            assert_as_declared(element)
    elif attrs.has(type(parsed)):
        assert parsed.additional_properties == {}, parsed
        for field in attrs.fields(type(parsed)):
            value = getattr(parsed, field.name)
            assert type(value).__name__ != "Unset", f"{type(parsed).__name__}.{field.name}"
            assert_as_declared(value)


@pytest.fixture
def service(settings: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    sys.path.insert(0, str(tmp_path))
    yield Service(settings, request, tmp_path)
    sys.path.remove(str(tmp_path))
    for name in [name for name in sys.modules if name.partition(".")[0] == CLIENT]:
        del sys.modules[name]


def test_every_declared_response_is_what_the_service_gives(service: Service) -> None:
    with service.served() as url:
        credential = service.credential(url)
        successes(service, service.client(url, credential))
        refusals(service, url, credential)
    with service.served(trusted_hosts=["service.example"]) as url:
        service.call_each(service.operations, 400, service.client(url, credential))
    with service.served(max_body_bytes=8) as url:
        service.call_each(service.with_body, 413, service.client(url, credential))
    throttled(service)
    unavailable(service, credential)
    assert sorted(service.declared - service.driven) == []


def successes(service: Service, client: Any) -> None:
    for operation in ("read_liveness", "read_readiness", "read_health", "read_current_user"):
        if operation in service.operations:
            service.call(operation, client, 200)
    item_create, item_update = service.model("ItemCreate"), service.model("ItemUpdate")
    item = service.call("create_item", client, 201, body=item_create(name="widget"))
    page = service.call("list_items", client, 200, q="widget", skip=0, limit=10)
    assert [found.id for found in page.items] == [item.id]
    service.call("read_item", client, 200, item_id=item.id)
    changed = service.call(
        "update_item", client, 200, item_id=item.id, body=item_update(quantity=4)
    )
    assert changed.quantity == 4
    service.call("delete_item", client, 204, item_id=item.id)
    if "send_notification" in service.operations:
        service.call("send_notification", client, 202, **service.arguments("send_notification"))


def refusals(service: Service, url: str, credential: str) -> None:
    """404, 422, 401 and 431, from the app with the tests' settings."""
    client = service.client(url, credential)
    for operation in BY_ITEM_ID:
        service.call(operation, client, 404, **service.arguments(operation))
    item_create, item_update = service.model("ItemCreate"), service.model("ItemUpdate")
    service.call("list_items", client, 422, limit=0)
    service.call("create_item", client, 422, body=item_create(name=""))
    service.call("read_item", client, 422, item_id=0)
    service.call("update_item", client, 422, item_id=0, body=item_update(quantity=4))
    service.call("delete_item", client, 422, item_id=0)
    if "send_notification" in service.operations:
        body = service.model("NotificationCreate")(email="nobody", message="hello")
        service.call("send_notification", client, 422, body=body)
    if "log_in" in service.operations:
        body = service.model("BodyLogIn")(username=ALICE, password="x", grant_type="other")
        service.call("log_in", service.client(url), 422, body=body)
    service.call_each(service.secured, 401, service.client(url, "not-a-credential"))
    padding = {"X-Padding": "x" * service.settings.max_header_bytes}
    service.call_each(service.operations, 431, service.client(url, credential, headers=padding))


def throttled(service: Service) -> None:
    """429: one failed authentication allowed (a day long, so no window ends in between),
    then refused: log-ins by user name, API keys by client address."""
    if not service.scheme:
        return
    limits = {"auth_failures_per_address": "1/day"}
    if "log_in" in service.operations:
        limits["auth_failures_per_username"] = "1/day"
    with service.served(**limits) as url:
        if "log_in" in service.operations:
            service.call("log_in", service.client(url), 401, **service.arguments("log_in"))
            service.call("log_in", service.client(url), 429, **service.arguments("log_in"))
        else:
            wrong = service.client(url, "not-a-credential")
            service.call("list_items", wrong, 401, **service.arguments("list_items"))
            service.call_each(service.secured, 429, wrong)


def unavailable(service: Service, credential: str) -> None:
    """409 and 503: a full item store, read-only mode, a database that cannot be reached."""
    fields = type(service.settings).model_fields
    if "item_store_max_items" in fields:
        with service.served(item_store_max_items=1) as url:
            client = service.client(url, credential)
            body = service.model("ItemCreate")(name="widget")
            service.call("create_item", client, 201, body=body)
            service.call("create_item", client, 409, body=body)
    with service.served(read_only=True) as url:
        service.call_each(service.writes, 503, service.client(url, credential))
    if "database_url" in fields:
        # Every operation needs the database but liveness, and the notifications unless a
        # bearer token's user is looked up in it.
        without = {"read_liveness"}
        if service.scheme.get("type") != "oauth2":
            without.add("send_notification")
        with service.served(database_url=unreachable(service.settings.database_url)) as url:
            client = service.client(url, credential)
            service.call_each(set(service.operations) - without, 503, client)
            for operation in without & set(service.operations):
                status = SUCCESS.get(operation, 200)
                service.call(operation, client, status, **service.arguments(operation))


def unreachable(database_url: str) -> str:
    """The same kind of database URL (driver included) where no database can be reached."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return str(url.set(database="/nonexistent-folder/service.db"))
    return url.set(host="127.0.0.1", port=9, password="nothing").render_as_string(
        hide_password=False
    )

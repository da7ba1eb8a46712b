"""The FastAPI snippet of docs/web-services.md: complete (every name it uses is imported),
and, where FastAPI is installed, run with FastAPI's TestClient against the local server."""

from __future__ import annotations

import ast
import builtins
import importlib
import importlib.util
import json
import re
import sys
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from autumn_local import LocalAutumn
from tests.blocking.server_thread import ServerThread
from tests.blocking.server_thread import post as autumn_post
from tests.type_checkers import errors, run_mypy, run_pyright

ROOT = Path(__file__).resolve().parents[2]


def snippet() -> str:
    page = (ROOT / "docs" / "web-services.md").read_text()
    match = re.search(r"```python\n(.*?)```", page, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_every_name_the_snippet_uses_is_imported_or_defined() -> None:
    tree = ast.parse(snippet())
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            bound |= (
                {a.arg for a in (*node.args.args, *node.args.kwonlyargs)}
                if not isinstance(node, ast.ClassDef)
                else set()
            )
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    assert used - bound == set()
    # And what it takes from this SDK exists under those names.
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("autumn_core", "autumn_funcs"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module}.{alias.name}"


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_fastapi", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _grant_base(server: LocalAutumn) -> None:
    request = urllib.request.Request(
        f"{server.url}/v1/balances.create",
        data=json.dumps(
            {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 10}
        ).encode(),
        headers={
            "Authorization": f"Bearer {server.secret_key}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


def test_the_snippet_answers_each_outcome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    source = tmp_path / "readme_fastapi.py"
    source.write_text(snippet())
    with ServerThread() as servers:
        server = servers.run(LocalAutumn(rate_limits=False).start())
        monkeypatch.setenv("AUTUMN_SECRET_KEY", server.secret_key)
        monkeypatch.setenv("AUTUMN_SERVER_URL", server.url)
        _grant_base(server)
        replies: list[tuple[int, Any]] = []
        try:
            with TestClient(_load(source).app) as client:

                def post(customer: str, body: Any) -> None:
                    reply = client.post(f"/customers/{customer}/credits", json=body)
                    replies.append((reply.status_code, reply.json()))

                post("cus_123", {"amount": 5, "order_id": "o1"})
                post("cus_123", {"amount": 5, "order_id": "o1"})
                post("cus_123", {"amount": 5})
                post("cus_nobody", {"amount": 5, "order_id": "o2"})
                server.faults.inject_next("lost-response", "lost-response", "lost-response")
                post("cus_123", {"amount": 3, "order_id": "o3"})
                post("cus_123", {"amount": 3, "order_id": "o3"})
                server.faults.inject_next("503", "503", "503")
                post("cus_123", {"amount": 3, "order_id": "o4"})
                # A customer without a balance: granted all the same (an update would not).
                autumn_post(server, "/v1/customers.get_or_create", {"customer_id": "cus_new"})
                post("cus_new", {"amount": 4, "order_id": "o5"})
            remaining = {
                customer: server.customer(customer)["balances"]["api_calls"]["remaining"]
                for customer in ("cus_123", "cus_new")
            }
        finally:
            servers.run(server.stop())
    statuses = [status for status, _ in replies]
    assert statuses == [200, 200, 422, 404, 503, 200, 503, 200]
    assert replies[0][1]["deduplicated"] is False and replies[1][1]["deduplicated"] is True
    assert replies[4][1]["error"] == "outcome_unknown" and replies[5][1]["deduplicated"] is True
    assert replies[6][1] == {"error": "billing_unavailable"}
    assert remaining == {"cus_123": 10 + 5 + 3, "cus_new": 4}


def test_the_snippet_type_checks_with_mypy_strict(tmp_path: Path) -> None:
    (tmp_path / "readme_fastapi.py").write_text(snippet())
    assert errors(run_mypy(tmp_path, ["readme_fastapi.py"])) == []


def test_the_snippet_type_checks_with_pyright_strict(tmp_path: Path) -> None:
    (tmp_path / "readme_fastapi.py").write_text(snippet())
    assert errors(run_pyright(tmp_path)) == []

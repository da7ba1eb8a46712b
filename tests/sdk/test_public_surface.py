"""What `autumn_core` shows: the user API at the root, an operation author's in `seam`,
OpenTelemetry in `otel` (opt-in, the otel extra), every other module private."""

from __future__ import annotations

import builtins
import pkgutil
import subprocess
import sys

import autumn_core
import autumn_core.seam

ROOT = {
    "APIConnectionError",
    "Applied",
    "AutumnCore",
    "AutumnDefaultError",
    "AutumnError",
    "AutumnSDKError",
    "BackoffStrategy",
    "CoreSettings",
    "Err",
    "HTTPClientError",
    "HookContext",
    "Hooks",
    "InvalidRequestError",
    "Ok",
    "PreparedRequest",
    "RawResponse",
    "RequestAbortedError",
    "RequestOptions",
    "RequestOptionsDict",
    "RequestTimeoutError",
    "ResponseValidationError",
    "Result",
    "RetryConfig",
    "SDKValidationError",
    "SecretKey",
    "UnexpectedClientError",
    "__version__",
    "unwrap",
}
SEAM = {
    "WIRE_NAME",
    "CheckedParams",
    "CoreConfig",
    "LoopThread",
    "Operation",
    "apply_rules",
    "run_operation",
    "tolerate_unknown_fields",
}


def test_the_root_exports_the_user_api_and_nothing_of_an_operation_author() -> None:
    assert set(autumn_core.__all__) == ROOT
    assert not SEAM & set(autumn_core.__all__)


def test_the_seam_exports_what_an_operation_author_needs() -> None:
    assert set(autumn_core.seam.__all__) == SEAM
    assert autumn_core.seam.__doc__ and all(name in autumn_core.seam.__doc__ for name in SEAM)


def test_every_module_but_the_seam_and_otel_is_private() -> None:
    modules = {m.name for m in pkgutil.iter_modules(autumn_core.__path__)}
    assert {m for m in modules if not m.startswith("_")} == {"seam", "otel"}


def test_public_names_of_the_root_are_the_exports_and_the_old_alias() -> None:
    # (pytest's assertion rewriting adds names that are no identifiers: not ours)
    public = {n for n in dir(autumn_core) if n.isidentifier() and not n.startswith("_")}
    # (otel once a test imported it)
    assert public - set(autumn_core.__all__) <= {"ConnectionError", "seam", "otel"}


def test_star_import_leaves_the_builtin_connection_error_alone() -> None:
    code = (
        "from autumn_core import *\n"
        "import builtins\n"
        "assert ConnectionError is builtins.ConnectionError\n"
        "from autumn_core import ConnectionError, APIConnectionError\n"
        "assert ConnectionError is APIConnectionError\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert autumn_core.ConnectionError is not builtins.ConnectionError

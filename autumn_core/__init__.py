"""Transport, results, errors and retries for Autumn's API; knows no operation.

>>> from autumn_core import AutumnCore
>>> from autumn_funcs import balances_create
>>> async with AutumnCore(secret_key="am_sk_test_...") as core:
...     res = await balances_create(core, {"customer_id": "cus_123", ...})

The root holds what a user of the SDK needs. What a module defining an
operation needs besides (`Operation`, `run_operation`, ...) is in
`autumn_core.seam`; `autumn_core.otel` instruments a core with OpenTelemetry (the
`otel` extra; imported only by you). Every other module is private and may change
without notice.
"""

from autumn_core._config import CoreSettings
from autumn_core._core import AutumnCore
from autumn_core._credentials import SecretKey
from autumn_core._errors import (
    APIConnectionError,
    Applied,
    AutumnDefaultError,
    AutumnError,
    AutumnSDKError,
    HTTPClientError,
    InvalidRequestError,
    RawResponse,
    RequestAbortedError,
    RequestTimeoutError,
    ResponseValidationError,
    SDKValidationError,
    UnexpectedClientError,
)

# The first name of APIConnectionError, importable by name as the CHANGELOG
# promises, but left out of __all__: `import *` must not shadow the builtin.
from autumn_core._errors import ConnectionError as ConnectionError
from autumn_core._hooks import HookContext, Hooks, PreparedRequest
from autumn_core._options import RequestOptions, RequestOptionsDict
from autumn_core._result import Err, Ok, Result, unwrap
from autumn_core._retries import BackoffStrategy, RetryConfig
from autumn_core._version import __version__

__all__ = [
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
]

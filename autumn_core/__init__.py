"""Transport, results, errors and retries for Autumn's API; knows no operation.

>>> from autumn_core import AutumnCore
>>> from autumn_funcs import balances_create
>>> async with AutumnCore(secret_key="am_sk_test_...") as core:
...     res = await balances_create(core, {"customer_id": "cus_123", ...})
"""

from autumn_core.config import CoreConfig
from autumn_core.core import AutumnCore, run_operation
from autumn_core.credentials import SecretKey
from autumn_core.errors import (
    APIConnectionError,
    Applied,
    AutumnDefaultError,
    AutumnError,
    AutumnSDKError,
    ConnectionError,
    HTTPClientError,
    InvalidRequestError,
    RawResponse,
    RequestAbortedError,
    RequestTimeoutError,
    ResponseValidationError,
    SDKValidationError,
    UnexpectedClientError,
)
from autumn_core.hooks import HookContext, Hooks, PreparedRequest
from autumn_core.loop_thread import LoopThread
from autumn_core.operation import Operation
from autumn_core.options import RequestOptions, RequestOptionsDict
from autumn_core.result import Err, Ok, Result, unwrap
from autumn_core.retries import BackoffStrategy, RetryConfig
from autumn_core.serde import WIRE_NAME, tolerate_unknown_fields
from autumn_core.version import __version__

__all__ = [
    "WIRE_NAME",
    "APIConnectionError",
    "Applied",
    "AutumnCore",
    "AutumnDefaultError",
    "AutumnError",
    "AutumnSDKError",
    "BackoffStrategy",
    "ConnectionError",
    "CoreConfig",
    "Err",
    "HTTPClientError",
    "HookContext",
    "Hooks",
    "InvalidRequestError",
    "LoopThread",
    "Ok",
    "Operation",
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
    "run_operation",
    "tolerate_unknown_fields",
    "unwrap",
]

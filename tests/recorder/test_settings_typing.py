"""The recorder's settings are type-checked: `RecorderSettings` names every keyword
`UsageRecorder` and `UsageRecorderSync` take and its type, so a misspelled or wrongly
typed setting is an error in the editor (mypy --strict and pyright strict), for both,
and at run time a misspelled one is a TypeError before anything starts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autumn_core import AutumnCore
from autumn_funcs import AutumnSync, UsageRecorder, UsageRecorderSync
from tests.recorder.batch_server import BatchServer
from tests.type_checkers import Diagnostic, errors, marked_lines, run_mypy, run_pyright

USER_CODE = """
from pathlib import Path
from typing import Any

from autumn_core import AutumnCore
from autumn_funcs import AutumnSync, RecorderSettings, UsageRecorder, UsageRecorderSync


def refused_event(event: dict[str, Any], error: Exception) -> None: ...


async def accepted(core: AutumnCore, autumn: AutumnSync) -> None:
    UsageRecorder(core)
    UsageRecorder(core, flush_interval=0.5, max_batch=100, spool=Path("usage.db"))
    UsageRecorder(core, requests_per_second=None, on_refused=refused_event, on_dropped=None)
    UsageRecorderSync(autumn, spool="usage.db", close_timeout=2, retry_max_s=5.0)
    settings: RecorderSettings = {"max_pending": 10_000, "max_in_flight": 4}
    UsageRecorder(core, **settings)
    UsageRecorderSync(autumn, **settings)


async def refused(core: AutumnCore, autumn: AutumnSync) -> None:
    UsageRecorder(core, flush_intervall=0.5)  # error
    UsageRecorder(core, max_batch="100")  # error
    UsageRecorder(core, spool=3)  # error
    UsageRecorderSync(autumn, flush_intervall=0.5)  # error
    UsageRecorderSync(autumn, max_batch="100")  # error
    UsageRecorderSync(autumn, on_dropped="log")  # error
    wrong: RecorderSettings = {"retry_max": 5.0}  # error
"""


# The error names the wrong keyword and lists the right ones.
MISSPELLED = r"unexpected keyword argument 'flush_intervall': .*\bflush_interval, "


CHECKERS: dict[str, Callable[[Path], list[Diagnostic]]] = {
    "mypy": lambda directory: run_mypy(directory, ["user_code.py"]),
    "pyright": run_pyright,
}


@pytest.mark.parametrize("checker", sorted(CHECKERS))
def test_type_checkers_flag_a_misspelled_or_wrongly_typed_setting(
    checker: str, tmp_path: Path
) -> None:
    (tmp_path / "user_code.py").write_text(USER_CODE)
    found = errors(CHECKERS[checker](tmp_path))
    assert {d.line for d in found} == marked_lines(USER_CODE), found


async def test_a_misspelled_setting_is_a_type_error_naming_it(core: AutumnCore) -> None:
    settings: dict[str, Any] = {"flush_intervall": 0.5}
    with pytest.raises(TypeError, match=MISSPELLED):
        UsageRecorder(core, **settings)


def test_the_blocking_recorder_refuses_a_misspelled_setting_too(
    threaded_server: BatchServer,
) -> None:
    settings: dict[str, Any] = {"flush_intervall": 0.5}
    with (
        AutumnSync("am_sk_test_recorder", server_url=threaded_server.url) as autumn,
        pytest.raises(TypeError, match=MISSPELLED),
    ):
        UsageRecorderSync(autumn, **settings)

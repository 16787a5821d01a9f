"""The public surface is pinned, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import modelyard
from modelyard import errors

EXPECTED = {
    "ActiveRun",
    "AlreadyExists",
    "Client",
    "Experiment",
    "InvalidArgument",
    "Metric",
    "ModelyardError",
    "NotFound",
    "Param",
    "PermissionDenied",
    "Conflict",
    "Run",
    "RunStatus",
    "RunTag",
    "Unavailable",
    "ViewType",
    "__version__",
    "active_run",
    "create_experiment",
    "delete_tag",
    "end_run",
    "flush",
    "get_experiment_by_name",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
}


def test_exported_names_are_pinned() -> None:
    assert set(modelyard.__all__) == EXPECTED
    for name in modelyard.__all__:
        assert hasattr(modelyard, name), name
    assert modelyard.data.log_dataset is not None  # loaded on first use, not at import


def test_import_pulls_in_no_dataframe_web_or_ml_library() -> None:
    code = (
        "import sys, modelyard; heavy = {'pandas', 'fastapi', 'uvicorn', 'sklearn', "
        "'matplotlib', 'torch', 's3fs', 'pyarrow'} & set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_command_line_loads_what_a_command_needs_when_it_runs() -> None:
    """``modelyard models list`` must not pay for the tracking server's web stack or the
    demo's dataframes (3.4 s of imports before each command, 1.5 s without them)."""
    code = (
        "import sys, modelyard.cli.main; heavy = {'pandas', 'fastapi', 'uvicorn', 'sklearn', "
        "'pyarrow', 'numpy'} & set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_error_code_maps_to_a_status_and_an_exit_code() -> None:
    for code, cls in errors.ERRORS_BY_CODE.items():
        assert cls.code == code
        assert code in errors.HTTP_STATUS and code in errors.EXIT_CODES
        rebuilt = errors.error_from_dict({"code": code, "message": "m", "field": "f"})
        assert type(rebuilt) is cls and rebuilt.field == "f"
    unknown = errors.error_from_dict({"code": "WHAT", "message": "m"})
    assert type(unknown) is errors.ModelyardError

"""The placement model: its schema copy for the lab extension, its ``where`` and ``details``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_remote_kernels.placement import PHASES, Placement, schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_COPY = ROOT / "labextension" / "src" / "placement.schema.json"


def test_the_lab_extensions_schema_copy_is_current():
    """The lab extension's copy is what the model generates (regenerate it if this fails)."""
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_remote_kernels.placement", "--schema"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    assert json.loads(out) == schema()
    assert json.loads(SCHEMA_COPY.read_text()) == schema(), (
        "labextension/src/placement.schema.json is stale: run "
        "python -m jupyter_remote_kernels.placement --schema "
        "> labextension/src/placement.schema.json"
    )


def _valid(value: dict) -> None:
    """Check ``value`` against the schema (the parts it uses: types, enum, required, extras)."""
    sch = schema()
    assert set(value) == set(sch["required"]), set(value) ^ set(sch["required"])
    types = {"string": str, "integer": int, "number": (int, float), "null": type(None)}
    for name, prop in sch["properties"].items():
        item = value[name]
        if "enum" in prop:
            assert item in prop["enum"], (name, item)
        elif prop["type"] == "object":
            for key, detail in item.items():
                assert key.replace("_", "").isalnum() and key.islower(), key
                allowed = prop["additionalProperties"]["type"]
                assert isinstance(detail, tuple(types[t] for t in allowed)), (key, detail)
        else:
            kinds = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
            assert isinstance(item, tuple(types[k] for k in kinds)), (name, item)
    assert value["where"], value


def test_a_placement_serializes_to_its_schema_with_where_and_details():
    placement = Placement(provisioner="slurm", kind="slurm")
    _valid(placement.to_dict())
    assert placement.to_dict()["where"] == "slurm" and placement.to_dict()["details"] == {}
    placement.host = "rkn2"
    assert placement.where == "slurm · rkn2"
    placement.set_details({"job_id": "4242", "partition": "debug", "time_left": "1:52"})
    placement.locator = lambda: "slurm · job 4242 on rkn2 (1:52 left)"
    placement.set_phase("pending", "Resources")
    model = placement.to_dict()
    _valid(model)
    assert model["where"] == "slurm · job 4242 on rkn2 (1:52 left)"
    assert list(model["details"]) == ["job_id", "partition", "time_left"]  # display order
    assert json.loads(json.dumps(model)) == model


def test_phases_and_details_are_checked():
    placement = Placement(provisioner="x", kind="x")
    assert "pending" in PHASES and "queued" not in PHASES
    with pytest.raises(ValueError, match="unknown launch phase 'queued'"):
        placement.set_phase("queued")
    with pytest.raises(ValueError, match="snake_case"):
        placement.set_details({"AppId": "1"})
    with pytest.raises(TypeError, match="string, number or null"):
        placement.set_details({"nodes": ["a", "b"]})


def test_a_saved_placement_is_restored_without_its_computed_where():
    placement = Placement(provisioner="yarn", kind="yarn", host="nm1")
    placement.set_details({"app_id": "application_1_0001", "queue": "default"})
    placement.set_phase("ready")
    saved = json.loads(json.dumps(placement.to_dict()))
    again = Placement(provisioner="yarn", kind="yarn")
    again.restore({**saved, "app_id": "old top-level field", "phase": "queued"})
    assert again.details == placement.details and again.host == "nm1"
    assert again.phase == "starting"  # an unknown phase from an older record

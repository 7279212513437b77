"""The AWS regions botocore knows (its endpoint data), cached per botocore version: a stack's
`aws:region` must be one of them, as the AWS provider refuses any other."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from offline.index_cache import cached_index

REGION_KEY = "aws:region"


def _endpoints() -> Path | None:
    """botocore's endpoint data, found without importing botocore (a programs' run need not
    load it); None where botocore is not installed."""
    spec = find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(spec.submodule_search_locations[0]) / "data" / "endpoints.json"


def _read_regions() -> list[str]:
    endpoints = _endpoints()
    assert endpoints is not None
    partitions = json.loads(endpoints.read_text(encoding="utf-8"))["partitions"]
    return sorted({region for partition in partitions for region in partition["regions"]})


@cache
def known_regions() -> frozenset[str]:
    """Every region of every partition botocore knows; empty without botocore."""
    if _endpoints() is None:
        return frozenset()
    return frozenset(cached_index("botocore-regions", "botocore", Path(__file__), _read_regions))


def region_problems(config: Mapping[str, str]) -> list[str]:
    """One message if the config's `aws:region` is set to a region botocore does not know
    (nothing to say where botocore is not installed)."""
    region = config.get(REGION_KEY)
    if region is None or not known_regions() or region in known_regions():
        return []
    close = difflib.get_close_matches(region.lower(), sorted(known_regions()), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return [f"{REGION_KEY} = {region!r} is not an AWS region botocore knows{hint}"]

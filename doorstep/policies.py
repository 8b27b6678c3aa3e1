"""Find a region's contact policy: preset and lender layers by name, stacked, strictest wins.

A region names its layers joined by "+" ("cn", "cn+acme"). Each name is looked up first in
the lender's own folder (setting DOORSTEP_POLICY_DIR), then among the presets shipped in
`data/policies/`, so a lender can add layers and also replace a preset by a file of the same
name. Each layer keeps its TOML text so the exact version that allowed a plan can be stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from optimizer.policy import Policy, load_policy, stack

PRESET_FOLDER = Path(__file__).resolve().parent.parent / "data" / "policies"
DEFAULT_POLICY = "cn"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*", re.ASCII)


@dataclass(frozen=True)
class PolicyLayer:
    """One layer as loaded: the policy and the text it came from."""

    policy: Policy
    content: str
    path: Path


@dataclass(frozen=True)
class ResolvedPolicy:
    """A region's layers and their stack."""

    layers: tuple[PolicyLayer, ...]
    policy: Policy


def resolve_policy(spec: str, lender_folder: Path | None = None) -> ResolvedPolicy:
    """The stacked policy for `spec` ("cn", "cn+acme"). ValueError names an unknown or bad
    layer and lists what is available."""
    names = [part.strip() for part in spec.split("+")] if spec.strip() else []
    if not names or not all(_NAME.fullmatch(n) for n in names):
        msg = (
            f"policy {spec!r}: give layer names joined by '+', e.g. 'cn' or 'cn+acme' "
            f"(lower-case letters, digits, '-' and '_')"
        )
        raise ValueError(msg)
    layers = tuple(_layer(name, lender_folder) for name in names)
    for layer, name in zip(layers, names, strict=True):
        if layer.policy.name != name:
            msg = f"policy file {layer.path} is named {layer.policy.name!r}; name it {name!r}"
            raise ValueError(msg)
    return ResolvedPolicy(layers, stack(*(layer.policy for layer in layers)))


def available_policies(lender_folder: Path | None = None) -> list[str]:
    """Every layer name that `resolve_policy` can find."""
    folders = [f for f in (lender_folder, PRESET_FOLDER) if f is not None and f.is_dir()]
    return sorted({p.stem for folder in folders for p in folder.glob("*.toml")})


def _layer(name: str, lender_folder: Path | None) -> PolicyLayer:
    for folder in (lender_folder, PRESET_FOLDER):
        if folder is None:
            continue
        path = folder / f"{name}.toml"
        if path.is_file():
            content = path.read_text(encoding="utf-8")
            try:
                return PolicyLayer(load_policy(content), content, path)
            except ValueError as exc:
                msg = f"policy file {path}: {exc}"
                raise ValueError(msg) from None
    known = ", ".join(available_policies(lender_folder)) or "none"
    msg = f"unknown policy {name!r}; available: {known} (lender files go in DOORSTEP_POLICY_DIR)"
    raise ValueError(msg)

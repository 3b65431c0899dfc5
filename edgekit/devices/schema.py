"""The schema of ``devices.json`` (what ``edgekit device add`` saves), for :func:`edgekit._schema.validate`.

Why: the file is the user's to edit by hand; a port of ``"22"`` or ``70000``, a negative timeout or a
password field must be one sentence naming the field, not a failure at the first SSH connection.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from edgekit._schema import Strict

_Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
_Text = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class DeviceSchema(Strict):
    """One device: where it is, as whom, how edgekit runs there (never a password)."""

    name: _Name
    host: _Text
    user: _Text
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    key: _Text | None = None
    target: Annotated[str, StringConstraints(max_length=128)] = ""
    edgekit: _Text = "edgekit"
    workdir: _Text = ".cache/edgekit-device"
    connect_timeout_s: Annotated[float, Field(gt=0.0, le=600.0)] = 10.0


class DeviceListSchema(Strict):
    """The whole file: ``{"devices": {NAME: {...}}}``."""

    devices: dict[_Name, DeviceSchema] = Field(default_factory=dict)

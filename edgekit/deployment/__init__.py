"""Deployment bundles that check themselves, and the runtime that runs them on a device.

``deploy(plan_or_model, target, out)`` writes a bundle (folder or ``.zip``);
``Predictor.open(bundle)`` verifies every checksum before it loads the model;
``verify_bundle(bundle)`` re-runs the packaged validation sample and compares
it with what the manifest promised; ``export_triton`` writes a Triton model
repository, ``export_kserve`` a KServe deployment, ``export_mender`` a fleet OTA artifact. Names are imported on first use, so ``import edgekit.deployment``
stays as light as the device runtime needs.

Example:
    >>> from edgekit.deployment import deploy, Predictor             # doctest: +SKIP
    >>> bundle = deploy("demo:digits", out="digits.zip")
    >>> Predictor.open("digits.zip").predict(image).label
"""

from __future__ import annotations

from edgekit._lazy import lazy_exports

_LAZY = {
    "deploy": "edgekit.deployment.bundle",
    "Bundle": "edgekit.deployment.bundle",
    "Manifest": "edgekit.deployment.manifest",
    "Tolerance": "edgekit.deployment.manifest",
    "Predictor": "edgekit.deployment.predictor",
    "Prediction": "edgekit.deployment.predictor",
    "verify_bundle": "edgekit.deployment.verify",
    "VerifyReport": "edgekit.deployment.verify",
    "export_triton": "edgekit.deployment.triton",
    "export_kserve": "edgekit.deployment.kserve",
    "export_mender": "edgekit.deployment.mender",
    "ZipLimits": "edgekit.deployment.safezip",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

"""``export_kserve``: a bundle -> what a Kubernetes cluster running KServe needs to serve it.

Layout (``out/``)::

    inferenceservice.yaml   serving.kserve.io/v1beta1 InferenceService (predictor.model -> the runtime)
    servingruntime.yaml     serving.kserve.io/v1alpha1 ServingRuntime running the image below
    Dockerfile              python slim + only the bundle's runtime packages + kserve, bundle baked in
    bundle/                 the bundle, manifest and checksums unchanged (verified again at every start)
    entrypoint.sh           edgekit serve /opt/edgekit/bundle --engine kserve --host 0.0.0.0 ...
    README.md               build, push, apply, call - the commands in order

The pod runs the same code as ``edgekit serve --engine kserve`` on a laptop
(:mod:`edgekit.serve.kserve_server`), so what was tested locally is what the cluster runs.
:func:`validate_manifests` reads both YAML files back into KServe's own model classes
(``V1beta1InferenceService``, ``V1alpha1ServingRuntime``) and refuses any key they do not know.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from edgekit._io import atomic_dir, expand_user
from edgekit._owned import read_list, write_list
from edgekit.deployment.bundle import Bundle
from edgekit.deployment.manifest import MANIFEST, MANIFEST_DIGEST
from edgekit.errors import BackendUnavailable, BundleError

HTTP_PORT, GRPC_PORT = 8080, 8081
BUNDLE_DIR = "/opt/edgekit/bundle"
KSERVE_SPEC = "kserve>=0.21,<0.22"  # the ModelServer API edgekit.serve.kserve_server is written against


def export_kserve(bundle: str | Path | Bundle, out: str | Path, *, image: str | None = None,
                  namespace: str = "default", force: bool = False) -> Path:
    """Write manifests, a container build context and a README for KServe.

    Args:
        bundle: bundle folder, zip, or an opened :class:`Bundle` (verified first).
        out: folder to create.
        image: container image name the manifests refer to (default ``edgekit/<name>:<version>``).
        namespace: Kubernetes namespace in the manifests.
        force: replace an existing ``out``.

    Returns:
        ``out``.

    Raises:
        BundleError: the bundle is refused.
        OutputExists: ``out`` exists and ``force`` is false.

    Example:
        >>> export_kserve("digits.zip", "digits-kserve/")     # doctest: +SKIP
    """
    import yaml

    opened = bundle if isinstance(bundle, Bundle) else Bundle.open(bundle)
    m = opened.manifest
    name = m.serve_name.replace("_", "-").lower()
    image = image or f"edgekit/{name}:{m.edgekit_version}"
    target = expand_user(out)
    with atomic_dir(target, force, owned=read_list) as tmp:  # --force replaces only what an export wrote
        tmp.chmod(0o755)
        for rel in (MANIFEST, MANIFEST_DIGEST, *sorted(m.files)):
            (tmp / "bundle" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(opened.root / rel, tmp / "bundle" / rel)
        (tmp / "servingruntime.yaml").write_text(yaml.safe_dump(serving_runtime(name, image, namespace),
                                                                sort_keys=False), encoding="utf-8")
        (tmp / "inferenceservice.yaml").write_text(yaml.safe_dump(inference_service(name, namespace),
                                                                  sort_keys=False), encoding="utf-8")
        (tmp / "Dockerfile").write_text(dockerfile(), encoding="utf-8")
        (tmp / "wheels").mkdir()
        (tmp / "wheels" / ".keep").write_text("", encoding="utf-8")  # COPY wheels/ needs the folder
        (tmp / "entrypoint.sh").write_text(ENTRYPOINT, encoding="utf-8")
        (tmp / "entrypoint.sh").chmod(0o755)
        (tmp / "README.md").write_text(readme(m.serve_name, name, image, namespace), encoding="utf-8")
        write_list(tmp)
    return target


def serving_runtime(name: str, image: str, namespace: str) -> dict:
    """The ``ServingRuntime``: the image, its ports, the v2 protocols, the model format it serves."""
    return {
        "apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
        "metadata": {"name": f"edgekit-{name}", "namespace": namespace},
        "spec": {
            "supportedModelFormats": [{"name": "edgekit-bundle", "version": "1", "autoSelect": True}],
            "protocolVersions": ["v2", "grpc-v2"],
            "containers": [{
                "name": "kserve-container", "image": image, "args": [],
                "ports": [{"containerPort": HTTP_PORT, "protocol": "TCP"}],
                "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": HTTP_PORT},
                                   "initialDelaySeconds": 5, "periodSeconds": 5},
                "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
            }],
        },
    }


def inference_service(name: str, namespace: str) -> dict:
    """The ``InferenceService``: one predictor of the bundle's format on the runtime above."""
    return {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"predictor": {
            "minReplicas": 1, "maxReplicas": 4,
            "model": {"modelFormat": {"name": "edgekit-bundle", "version": "1"}, "runtime": f"edgekit-{name}",
                      "protocolVersion": "v2"},
        }},
    }


def dockerfile() -> str:
    """Python slim + the bundle's ``requirements.txt`` (edgekit + its one backend) + kserve; nothing else."""
    return f"""# Built by edgekit export --format kserve. Only the runtime the bundle needs: no torch, no Qt.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# EDGEKIT_SPEC: edgekit from your index, or a wheel copied into ./wheels (see README.md)
ARG EDGEKIT_SPEC=""
COPY wheels/ /tmp/wheels/
COPY bundle/ {BUNDLE_DIR}/
# the README's EDGEKIT_SPEC is wheels/NAME.whl, a path in the build context: it is found from here
WORKDIR /tmp
RUN pip install -r {BUNDLE_DIR}/requirements.txt "{KSERVE_SPEC}" $EDGEKIT_SPEC \\
    && python -c "from edgekit.deployment import Predictor; Predictor.open('{BUNDLE_DIR}')"
COPY entrypoint.sh /usr/local/bin/edgekit-entrypoint
USER 65532:65532
EXPOSE {HTTP_PORT} {GRPC_PORT}
ENTRYPOINT ["/usr/local/bin/edgekit-entrypoint"]
"""


ENTRYPOINT = f"""#!/bin/sh
# The bundle is verified again here (checksums) before a port opens; a tampered image does not serve.
exec edgekit serve "${{EDGEKIT_BUNDLE:-{BUNDLE_DIR}}}" --engine kserve --host 0.0.0.0 \\
    --port "${{HTTP_PORT:-{HTTP_PORT}}}" --grpc-port "${{GRPC_PORT:-{GRPC_PORT}}}" --workers "${{WORKERS:-1}}" "$@"
"""


def readme(model: str, name: str, image: str, namespace: str) -> str:
    """The deploy commands, in the order they are run."""
    return f"""# {model} on KServe

Written by `edgekit export --format kserve`. The pod runs `edgekit serve --engine kserve`, the same
server you can start locally, and verifies the bundle's checksums before it listens.

## 1. Build and push the image
```
mkdir -p wheels   # if edgekit is not on your package index: pip wheel --no-deps /path/to/edgekit -w wheels
docker build -t {image} --build-arg EDGEKIT_SPEC="$(ls wheels/*.whl 2>/dev/null)" .
docker push {image}
```

## 2. Try the image locally
```
docker run --rm -p {HTTP_PORT}:{HTTP_PORT} -p {GRPC_PORT}:{GRPC_PORT} {image}
curl localhost:{HTTP_PORT}/v2/models/{model}/ready
```

## 3. Deploy
```
kubectl apply -n {namespace} -f servingruntime.yaml
kubectl apply -n {namespace} -f inferenceservice.yaml
kubectl get inferenceservice {name} -n {namespace}     # READY True, and its URL
```

## 4. Call it (Open Inference Protocol v2)
```
URL=$(kubectl get inferenceservice {name} -n {namespace} -o jsonpath='{{.status.url}}')
curl $URL/v2/models/{model}                               # inputs, outputs
curl -X POST $URL/v2/models/{model}/infer -d @request.json
curl -X POST $URL/v1/models/{model}:predict \\
     -d '{{"instances": [{{"image_bytes": {{"b64": "'$(base64 -w0 photo.jpg)'"}}}}]}}'
```
Prometheus metrics are at `/metrics` on the same port.
"""


def validate_manifests(folder: str | Path) -> dict[str, Any]:
    """Read ``inferenceservice.yaml`` and ``servingruntime.yaml`` into KServe's own classes.

    Every key must be one the class knows (a misspelt key would otherwise be dropped silently by
    Kubernetes' client), and each class's own setters check required fields and enums.

    Returns:
        ``{"InferenceService": V1beta1InferenceService, "ServingRuntime": V1alpha1ServingRuntime}``.

    Raises:
        BundleError: a file is missing, or a key or value KServe's classes refuse (naming its path).
        BackendUnavailable: kserve is not installed.
    """
    from edgekit.safeyaml import load_yaml

    try:
        from kserve import models as kserve_models
    except ImportError as exc:
        raise BackendUnavailable('validating KServe manifests needs kserve: pip install "edgekit[kserve]"') from exc
    from kubernetes.client import models as k8s_models

    result = {}
    for kind, file, cls in (("InferenceService", "inferenceservice.yaml", "V1beta1InferenceService"),
                            ("ServingRuntime", "servingruntime.yaml", "V1alpha1ServingRuntime")):
        path = Path(folder) / file
        if not path.is_file():
            raise BundleError(f"{path} is missing; re-run edgekit export --format kserve", path=path)
        doc = load_yaml(path.read_text(encoding="utf-8"), path=path, error=BundleError)
        if not isinstance(doc, dict) or doc.get("kind") != kind:
            raise BundleError(f"{path} is not a {kind} manifest; re-run edgekit export --format kserve", path=path)
        result[kind] = _build(doc, cls, "", (kserve_models, k8s_models), path)
    return result


def validate_in_child(folder: str | Path, timeout_s: float = 120.0) -> None:
    """:func:`validate_manifests` in a child Python, so kserve is never imported into this process.

    Why: kserve and ``tritonclient.grpc`` register the same protobuf package (``inference``) and
    cannot live in one interpreter; kserve's import is also heavy (~3 s) for a CLI or GUI worker.

    Raises:
        BundleError: a manifest is refused (the child's sentence).
        BackendUnavailable: kserve is not installed there.
    """
    import importlib.util
    import subprocess
    import sys

    from edgekit.errors import BackendUnavailable

    if importlib.util.find_spec("kserve") is None:
        raise BackendUnavailable('validating KServe manifests needs kserve: pip install "edgekit[kserve]"')
    code = ("import sys\nfrom edgekit.deployment.kserve import validate_manifests\nfrom edgekit.errors import EdgekitError\n"
            "try:\n    validate_manifests(sys.argv[1])\nexcept EdgekitError as exc:\n    print(exc)\n    sys.exit(3)\n")
    try:
        done = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BackendUnavailable(f"checking the KServe manifests took over {timeout_s:.0f} s; check them later with "
                                 "edgekit.deployment.kserve.validate_manifests") from exc
    if done.returncode == 3:
        raise BundleError(done.stdout.strip())
    if done.returncode != 0:
        raise BackendUnavailable(f"could not check the KServe manifests: {(done.stderr.strip().splitlines() or ['?'])[-1]}")


def _build(data: Any, kind: str, where: str, modules: tuple, path: Path) -> Any:
    """Construct ``kind`` (an OpenAPI type name) from ``data``, refusing unknown keys."""
    if kind.startswith("list["):
        if not isinstance(data, list):
            raise BundleError(f"{path}: {where} must be a list", path=path)
        return [_build(v, kind[5:-1], f"{where}[{i}]", modules, path) for i, v in enumerate(data)]
    if kind.startswith("dict("):
        if not isinstance(data, dict):
            raise BundleError(f"{path}: {where} must be a mapping", path=path)
        sub = kind[5:-1].split(", ", 1)[1]
        return {k: _build(v, sub, f"{where}.{k}", modules, path) for k, v in data.items()}
    if kind in ("str", "int", "bool", "float", "object", "datetime", "date"):
        return data
    cls = next((getattr(mod, kind) for mod in modules if hasattr(mod, kind)), None)
    if cls is None:
        return data
    if not isinstance(data, dict):
        raise BundleError(f"{path}: {where} must be a mapping ({kind})", path=path)
    by_key = {v: k for k, v in cls.attribute_map.items()}
    unknown = sorted(set(data) - set(by_key))
    if unknown:
        raise BundleError(f"{path}: {where} has keys {kind} does not know: {unknown}; fix or remove them", path=path)
    kwargs = {by_key[k]: _build(v, cls.openapi_types[by_key[k]], f"{where}.{k}", modules, path) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{path}: {where} is refused by KServe's {kind}: {exc}", path=path) from exc

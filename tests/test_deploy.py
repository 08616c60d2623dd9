"""The Kubernetes manifests in deploy/kubernetes: valid against the Kubernetes schemas (offline, strict), and
every NSMC_SERVE_* setting they pass is one `nsmckit serve` reads, with a value it accepts."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from kit.cli.commands import main, serve
from tests.conftest import ROOT

FOLDER = ROOT / "deploy" / "kubernetes"
KUBERNETES = "1.30.0"  # the oldest release the manifests promise to work with


def documents():
    return [(path.name, doc) for path in sorted(FOLDER.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]


@pytest.mark.parametrize(("name", "doc"), documents(), ids=[f"{n}:{d['kind']}" for n, d in documents()])
def test_manifest_is_valid_kubernetes(name, doc):
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def serve_variables() -> set[str]:
    return {envvar for param in serve.params for envvar in ([param.envvar] if param.envvar else [])}


def test_every_setting_is_one_serve_reads_with_a_value_it_accepts(tmp_path):
    settings = dict(
        line.split("=", 1)
        for line in (FOLDER / "serve.env").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    for _, doc in documents():
        if doc["kind"] == "Deployment":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                settings |= {env["name"]: env["value"] for env in container.get("env", [])}
    assert set(settings) <= serve_variables(), set(settings) - serve_variables()
    # Parsed as serve parses them: a bad value would stop at the option parser (exit 2), not at the export.
    result = CliRunner().invoke(main, ["serve", str(tmp_path / "no-export")], env=settings)
    assert result.exit_code == 1 and "no such export folder" in result.output

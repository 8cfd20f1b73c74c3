"""Static validation of deploy/: compose file, Kubernetes manifests, Dockerfile, nginx templates.

No container runtime runs here or in CI, so these files are checked against their schemas
(compose-spec as shipped by check-jsonschema; Kubernetes as shipped by kubernetes-validate, both
offline) and against the properties we promise: non-root, pinned images, probes, secrets as
files, the same names in every place that must agree.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
#: Created by hand, not applied with the rest: the Jobs and the example Secret.
ONE_OFF = {"migration-job.yaml", "import-documents-job.yaml", "secret.example.yaml"}


@cache
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


@cache
def compose_schema() -> dict[str, Any]:
    text = (resources.files("check_jsonschema.builtin_schemas.vendor")
            .joinpath("compose-spec.json").read_text())
    schema: dict[str, Any] = json.loads(text)
    return schema


def compose_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.validators.validator_for(compose_schema())(compose_schema())
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def manifest(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((K8S / name).read_text())
    return data


# ---- compose ---------------------------------------------------------------------------------

def test_the_compose_file_follows_the_compose_specification() -> None:
    assert compose_errors(compose()) == []


def test_the_compose_schema_check_can_fail() -> None:
    broken = json.loads(json.dumps(compose()))
    broken["services"]["postgres"]["restart_policy"] = "always"  # not a service key

    assert compose_errors(broken) != []


def test_compose_runs_two_replicas_after_one_migration() -> None:
    services = compose()["services"]
    replicas = [name for name, s in services.items() if s.get("command") == ["serve"]]

    assert replicas == ["passerelle-1", "passerelle-2"]
    for name in replicas:
        assert services[name]["environment"]["PASSERELLE_MIGRATE_ON_START"] == "false"
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully")
    assert services["migrate"]["command"] == ["migrate"]


def test_compose_containers_are_unprivileged_and_images_pinned() -> None:
    for name, service in compose()["services"].items():
        image = service["image"]
        assert re.fullmatch(r"[\w./-]+:[\w.${}:-]+", image), (name, image)
        assert not image.endswith(":latest"), name
        if name != "postgres":  # its entrypoint drops to the postgres user itself
            assert service.get("read_only") is True, name
            assert service.get("cap_drop") == ["ALL"], name
        if name.startswith(("passerelle", "migrate", "simulator")):
            assert service["user"] == "10001:10001", name


def test_compose_secrets_are_files_and_every_file_variable_has_its_secret() -> None:
    document = compose()
    declared = document["secrets"]
    made = set(re.findall(r"^make (\w+) ", (DEPLOY / "make-secrets.sh").read_text(), re.M))

    for name, service in document["services"].items():
        mounted = set(service.get("secrets", []))
        for variable, value in service.get("environment", {}).items():
            if variable.endswith("_FILE"):
                assert value.startswith("/run/secrets/"), (name, variable)
                assert value.removeprefix("/run/secrets/") in mounted, (name, variable)
        assert mounted <= set(declared), name
    for secret in declared.values():
        file = secret["file"].removeprefix("./secrets/")
        assert file in made | {"tls.crt", "tls.key"}


def test_only_the_edge_address_is_a_trusted_proxy() -> None:
    services = compose()["services"]
    edge_ip = services["nginx"]["networks"]["edge"]["ipv4_address"]

    assert services["passerelle-1"]["environment"]["PASSERELLE_TRUSTED_PROXIES"] == edge_ip


def test_the_nginx_template_gets_every_placeholder_from_compose() -> None:
    template = (DEPLOY / "nginx" / "templates" / "passerelle.conf.template").read_text()
    placeholders = set(re.findall(r"\$\{(NGINX_\w+)\}", template))

    assert placeholders <= set(compose()["services"]["nginx"]["environment"])
    for snippet in re.findall(r"include \$\{NGINX_SNIPPETS\}/([\w.-]+);", template):
        assert (DEPLOY / "nginx" / "snippets" / snippet).is_file()


# ---- Kubernetes --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_each_manifest_is_valid_kubernetes(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


def test_the_kubernetes_check_can_fail() -> None:
    broken = manifest("deployment.yaml")
    broken["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_validate.latest_version(), strict=True)


def test_the_kustomization_lists_existing_files_and_not_the_job_or_the_example_secret() -> None:
    listed = manifest("kustomization.yaml")["resources"]

    assert all((K8S / name).is_file() for name in listed)
    assert ONE_OFF.isdisjoint(listed)
    assert set(listed) == {p.name for p in MANIFESTS} - ONE_OFF


def _pod(name: str) -> dict[str, Any]:
    pod: dict[str, Any] = manifest(name)["spec"]["template"]["spec"]
    return pod


@pytest.mark.parametrize("name", ["deployment.yaml", "migration-job.yaml",
                                  "import-documents-job.yaml"])
def test_pods_run_non_root_read_only_with_secrets_as_files(name: str) -> None:
    pod = _pod(name)
    container = pod["containers"][0]
    config = manifest("configmap.yaml")["data"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    secret_volume = next(v for v in pod["volumes"] if "secret" in v)

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert "memory" in container["resources"]["limits"]
    assert not container["image"].endswith(":latest")
    assert "env" not in container  # configuration from the ConfigMap, secrets from files
    for variable, value in config.items():
        if variable.endswith("_FILE"):
            assert value.startswith(mounts[secret_volume["name"]] + "/"), variable
    assert pod["automountServiceAccountToken"] is False


def test_the_deployment_probes_readiness_and_liveness_separately() -> None:
    container = _pod("deployment.yaml")["containers"][0]

    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert manifest("configmap.yaml")["data"]["PASSERELLE_MIGRATE_ON_START"] == "false"
    assert manifest("deployment.yaml")["spec"]["replicas"] >= 2


def test_service_and_disruption_budget_select_the_deployments_pods() -> None:
    labels = manifest("deployment.yaml")["spec"]["template"]["metadata"]["labels"]

    for selector in (manifest("service.yaml")["spec"]["selector"],
                     manifest("pdb.yaml")["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= labels.items()


def test_the_migration_job_runs_migrate_once() -> None:
    job = manifest("migration-job.yaml")

    assert _pod("migration-job.yaml")["containers"][0]["args"] == ["migrate"]
    assert _pod("migration-job.yaml")["restartPolicy"] == "Never"
    assert job["metadata"]["generateName"].endswith("-")


def test_replicas_share_nothing_but_the_database() -> None:
    services = compose()["services"]
    pod = _pod("deployment.yaml")

    for name in ("migrate", "passerelle-1", "passerelle-2"):
        assert "volumes" not in services[name], name  # writable: /tmp (tmpfs) only
    assert set(compose()["volumes"]) == {"postgres-data"}
    writable = [v for v in pod["volumes"] if "secret" not in v]
    assert [set(v) for v in writable] == [{"name", "emptyDir"}]
    assert not any(i == "VOLUME" for i, _ in dockerfile())


def test_the_document_import_job_runs_the_real_command_on_the_old_claim_read_only() -> None:
    from proxy.cli import build_parser

    pod = _pod("import-documents-job.yaml")
    args = build_parser().parse_args(pod["containers"][0]["args"])
    old = next(v for v in pod["volumes"] if "persistentVolumeClaim" in v)
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == old["name"])

    assert (args.command, args.documents_command) == ("documents", "import-files")
    assert args.source.is_relative_to(mount["mountPath"])
    assert mount["readOnly"] is True
    assert old["persistentVolumeClaim"] == {"claimName": "passerelle-data", "readOnly": True}
    assert manifest("import-documents-job.yaml")["metadata"]["generateName"].endswith("-")


# ---- Dockerfile ---------------------------------------------------------------------------------

def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
            for line in lines if line and not line.startswith("#")]


def test_the_dockerfile_is_multi_stage_with_pinned_bases() -> None:
    instructions = dockerfile()
    args = dict(a.split("=", 1) for i, a in instructions if i == "ARG" and "=" in a)
    bases = [a.split()[0] for i, a in instructions if i == "FROM"]
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], b) for b in bases]

    assert len(bases) >= 2
    for image in resolved:
        tag = image.partition(":")[2]
        assert tag, image
        assert tag != "latest", image
        assert re.search(r"\d+\.\d+", tag), f"{image}: pin a version"


def test_the_final_stage_is_unprivileged_with_no_build_tools() -> None:
    instructions = dockerfile()
    last_from = max(n for n, (i, _) in enumerate(instructions) if i == "FROM")
    final = instructions[last_from:]
    users = [a for i, a in final if i == "USER"]

    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in ("0", "root")
    assert not any(re.search(r"\b(gcc|build-essential|make|git)\b", a)
                   for i, a in final if i == "RUN")
    assert any(i == "COPY" and a.startswith("--from=") for i, a in final)
    assert any(i == "HEALTHCHECK" and "/healthz" in a for i, a in final)
    entrypoint = next(a for i, a in final if i == "ENTRYPOINT")
    assert entrypoint.startswith("[")  # exec form: signals reach the server


def test_the_image_carries_every_package_of_the_wheel() -> None:
    import tomllib

    pyproject = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    copied = {a.split()[0] for i, a in dockerfile() if i == "COPY" and not a.startswith("--")}

    assert set(packages) <= copied

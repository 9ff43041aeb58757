"""Static checks of the deployment files (compose, Dockerfile, Keycloak realm, Kubernetes): no Docker or cluster needed."""
import importlib
import importlib.util
import json
import re
import tomllib
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from identity.fixtures import PORTAL_DEV_PUBLIC_JWK

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy/docker/Dockerfile"
REALM_FILE = ROOT / "deploy/keycloak/govstack-realm.json"
K8S_DIR = ROOT / "deploy/kubernetes"
K8S_VERSION = "1.31.0"  # a release kubernetes-validate ships strict schemas for
K8S_NOT_RESOURCES = {"kustomization.yaml"}  # kustomize's own file, not an API object
K8S_NOT_APPLIED = {"secret.template.yaml"}  # validated, but deliberately left out of kustomization.yaml

SETTINGS_CLASSES = {
    "gateway": "gateway.settings:GatewaySettings",
    "identity": "identity.settings:IdentitySettings",
    "registration": "registration.settings:RegistrationSettings",
    "consent": "consent.settings:ConsentSettings",
    "messaging": "messaging.settings:MessagingSettings",
}
SERVICES = list(SETTINGS_CLASSES)
# The web frontends run in compose like a building block (api, relay, consumer) but are not one of the BBs.
FRONTEND_SETTINGS_CLASSES = {"web": "web.settings:WebSettings"}
COMPOSE_SERVICES = SERVICES + list(FRONTEND_SETTINGS_CLASSES)
WORKERS = ("relay", "consumer")
# Third-party images configure themselves with their own variables; only our services' environments are checked.
INFRA_IMAGES = ("postgres:", "rabbitmq:", "quay.io/keycloak/keycloak:", "otel/opentelemetry-collector", "jaegertracing/")


def settings_class(service: str):
    module, name = {**SETTINGS_CLASSES, **FRONTEND_SETTINGS_CLASSES}[service].split(":")
    return getattr(importlib.import_module(module), name)


def env_names(cls) -> set[str]:
    """The environment variables a settings class reads: its upper-cased field names (no prefix, no aliases)."""
    assert not cls.model_config.get("env_prefix"), f"{cls.__name__} has an env_prefix; update this test"
    assert all(field.alias is None and field.validation_alias is None for field in cls.model_fields.values())
    return {name.upper() for name in cls.model_fields}


def load_settings(service: str, env: dict[str, str]):
    """Build the service's settings from exactly these variables, as the container would (validators included)."""
    cls = settings_class(service)
    known = env_names(cls)
    return cls(**{name.lower(): value for name, value in env.items() if name in known})


def common_env_names() -> set[str]:
    from kernel.settings import ServiceSettings

    return env_names(ServiceSettings)


@pytest.fixture(autouse=True)
def no_settings_from_the_test_environment(monkeypatch):
    """Settings classes also read os.environ; only the deployment files' values may count here."""
    for service in SERVICES:
        for name in env_names(settings_class(service)):
            monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------- docker compose

@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def containers(compose) -> dict:
    return compose["services"]


def service_of(container: dict) -> str | None:
    """Which building block a container runs (its image's SERVICE build argument); None for infrastructure."""
    return ((container.get("build") or {}).get("args") or {}).get("SERVICE")


def environment(container: dict) -> dict[str, str]:
    env = container.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def test_compose_parses_and_every_container_is_known(containers):
    assert containers
    for name, container in containers.items():
        service = service_of(container)
        if service is None:
            assert str(container.get("image", "")).startswith(INFRA_IMAGES), f"{name}: neither a building block nor known infrastructure"
        else:
            assert service in COMPOSE_SERVICES, f"{name}: unknown SERVICE build argument {service!r}"


def test_build_contexts_and_dockerfiles_exist(containers):
    builds = [c["build"] for c in containers.values() if "build" in c]
    assert builds
    for build in builds:
        context = ROOT / build["context"]
        assert context.is_dir(), build
        assert (context / build.get("dockerfile", "Dockerfile")).is_file(), build


def test_mounted_host_files_exist(containers):
    for name, container in containers.items():
        for volume in container.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_service_environments_hold_only_variables_their_settings_read(containers):
    checked = 0
    for name, container in containers.items():
        service = service_of(container)
        if service is None:
            continue
        env = environment(container)
        unknown = set(env) - env_names(settings_class(service))
        assert not unknown, f"{name} sets variables {service} never reads: {sorted(unknown)}"
        assert env.get("SERVICE_NAME") == service, name
        assert env.get("PORT") == str(settings_class(service).model_fields["port"].default), name
        assert env.get("DATABASE_URL", "").startswith("postgresql://"), name
        checked += 1
    assert checked == len(COMPOSE_SERVICES) * 3


def interpolated(value: str) -> str:
    """Compose's ${VAR:-default} with VAR unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def test_service_environments_are_valid_settings(containers):
    for name, container in containers.items():
        service = service_of(container)
        if service:
            env = {key: interpolated(str(value)) for key, value in environment(container).items()}
            settings = load_settings(service, env)
            assert settings.service_name == service and settings.is_postgres, name


def test_databases_created_by_init_script_cover_every_service(containers):
    created = set(environment(containers["postgres"])["GOVSTACK_DATABASES"].split(","))
    init = containers["postgres"]["volumes"]
    assert any("deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/" in v for v in init)
    for name, container in containers.items():
        if service_of(container):
            database = environment(container)["DATABASE_URL"].rsplit("/", 1)[1]
            assert database == service_of(container), f"{name} does not use its own database"
            assert database in created, f"{name}: database {database} is never created"


def published_host_ports(container: dict) -> list[str]:
    ports = []
    for port in container.get("ports", []):
        if isinstance(port, dict):
            ports.append(str(port["published"]))
        else:
            parts = str(port).split(":")
            assert len(parts) >= 2, f"{port}: publish with an explicit host port"
            ports.append(parts[-2])
    return ports


def test_published_host_ports_are_unique(containers):
    seen: dict[str, str] = {}
    for name, container in containers.items():
        for port in published_host_ports(container):
            assert port not in seen, f"host port {port} published by {seen[port]} and {name}"
            seen[port] = name
    assert seen.get("8080") in (None, "web"), "host port 8080 is reserved for the web frontends"


def test_every_container_has_a_healthcheck(containers):
    for name, container in containers.items():
        check = container.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_depends_on_waits_for_healthy_services(containers):
    with_dependencies = 0
    for name, container in containers.items():
        depends_on = container.get("depends_on")
        if depends_on is None:
            continue
        assert isinstance(depends_on, dict), f"{name}: list-form depends_on only waits for start"
        for dependency, spec in depends_on.items():
            assert dependency in containers, f"{name} depends on unknown {dependency}"
            assert spec.get("condition") == "service_healthy", f"{name} -> {dependency}"
        with_dependencies += 1
    assert with_dependencies >= len(SERVICES) * 3


def test_every_building_block_runs_api_relay_and_consumer(containers):
    for service in COMPOSE_SERVICES:
        port = str(settings_class(service).model_fields["port"].default)
        api = containers[service]
        assert service_of(api) == service
        assert "command" not in api, f"{service}: the image's default command is the API"
        assert published_host_ports(api) == [port]
        assert "/health/ready" in " ".join(api["healthcheck"]["test"])
        for worker in WORKERS:
            container = containers[f"{service}-{worker}"]
            assert service_of(container) == service
            assert container["command"] == ["python", "-m", service, worker]
            assert not container.get("ports"), f"{service}-{worker} serves nothing"
            assert service in container["depends_on"], f"{service}-{worker} should start after its API migrated"


def test_gateway_knows_where_the_building_blocks_are(containers):
    env = environment(containers["gateway"])
    for service in SERVICES[1:]:
        port = settings_class(service).model_fields["port"].default
        assert env[f"{service.upper()}_URL"] == f"http://{service}:{port}"


def test_oidc_issuers_are_identity_and_keycloak(containers):
    for name, container in containers.items():
        if service_of(container):
            assert environment(container)["OIDC_ISSUERS"].split(",") == [
                "http://identity:8001", "http://keycloak:8080/realms/govstack"], name


# ---------------------------------------------------------------- Dockerfile

def workspace_packages() -> dict[str, Path]:
    """Package name -> directory of every uv workspace member."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members = {}
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        for directory in ROOT.glob(pattern):
            if (directory / "pyproject.toml").is_file():
                members[tomllib.loads((directory / "pyproject.toml").read_text())["project"]["name"]] = directory
    return members


def dockerfile_instructions() -> list[str]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())  # join continuation lines
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_dockerfile_builds_only_workspace_packages():
    instructions = dockerfile_instructions()
    allowed = re.search(r'case "\$SERVICE" in ([\w|]+)\)', " ".join(instructions))
    assert allowed, "the Dockerfile should reject unknown SERVICE values"
    allowed = set(allowed.group(1).split("|"))
    assert allowed == set(COMPOSE_SERVICES)
    packages = workspace_packages()
    assert allowed <= set(packages), f"not workspace packages: {allowed - set(packages)}"
    locked = {p["name"] for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"] if "editable" in p.get("source", {})}
    assert allowed <= locked, "uv sync --frozen needs them in uv.lock"

    syncs = [line for line in instructions if "uv sync" in line]
    assert len(syncs) >= 1
    for line in syncs:
        assert line.startswith("RUN ")
        assert "--frozen" in line and "--no-dev" in line, line
        package = re.search(r"--package\s+(\S+)", line)
        assert package and package.group(1).strip('"') in ("$SERVICE", "${SERVICE}"), line


def test_dockerfile_copies_existing_paths_and_every_member_manifest():
    copies = [line.split()[1:-1] for line in dockerfile_instructions() if line.startswith("COPY ") and "--from=" not in line]
    sources = [source for sources in copies for source in sources]
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such path in the build context"
    copied = {Path(s) for s in sources}
    for name, directory in workspace_packages().items():
        relative = directory.relative_to(ROOT)
        assert relative / "pyproject.toml" in copied, f"{name}'s pyproject.toml must be copied before the first uv sync"
        assert relative in copied or any(relative.is_relative_to(c) for c in copied if c != Path(".")), f"{name}'s code is never copied"
    assert {"pyproject.toml", "uv.lock"} <= set(sources)


def test_dockerfile_runs_as_non_root_on_python_311_slim():
    instructions = dockerfile_instructions()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in instructions
    froms = [line for line in instructions if line.startswith("FROM ")]
    assert len(froms) >= 2 and all("${PYTHON_IMAGE}" in line for line in froms), "multi-stage, same base"
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    cmd = json.loads(next(line for line in instructions if line.startswith("CMD "))[4:])
    assert "python -m" in " ".join(cmd) and cmd[-1].endswith("api")


def test_dockerignore_keeps_local_state_out():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")}
    for entry in (".venv", "data", ".git", "artifacts", "node_modules", "**/__pycache__"):
        assert entry in ignored, entry
    for needed in ("kernel", "services", "gateway", "uv.lock", "pyproject.toml"):
        assert needed not in ignored


# ---------------------------------------------------------------- Keycloak realm

def test_keycloak_realm_has_roles_clients_and_demo_users():
    realm = json.loads(REALM_FILE.read_text())
    assert realm["realm"] == "govstack"
    roles = {role["name"] for role in realm["roles"]["realm"]}
    assert {"admin", "designer", "operator", "auditor"} <= roles
    clients = {client["clientId"]: client for client in realm["clients"]}
    services = clients["govstack-services"]
    assert services["publicClient"] is False and services["serviceAccountsEnabled"] is True
    portal = clients["govstack-portal"]
    # The portal authenticates with private_key_jwt, with the same development key it uses at the Identity BB.
    assert portal["publicClient"] is False and portal["clientAuthenticatorType"] == "client-jwt" and portal["standardFlowEnabled"] is True
    assert json.loads(portal["attributes"]["jwks.string"])["keys"] == [PORTAL_DEV_PUBLIC_JWK]
    assert portal["attributes"]["pkce.code.challenge.method"] == "S256"
    assert portal["redirectUris"] == ["http://localhost:8080/*"]
    roles_mapper = next(m for m in portal["protocolMappers"] if m["protocolMapper"] == "oidc-usermodel-realm-role-mapper")
    assert roles_mapper["config"]["claim.name"] == "roles" and roles_mapper["config"]["id.token.claim"] == "true"  # the portal reads roles from the ID token
    users_by_role = {role: user for user in realm["users"] for role in user.get("realmRoles", [])}
    for role in ("admin", "designer", "operator", "auditor"):
        assert all(c["temporary"] for c in users_by_role[role]["credentials"]), f"{role} demo password must be temporary"


# ---------------------------------------------------------------- Kubernetes

def k8s_documents() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        if path.name in K8S_NOT_RESOURCES:
            continue
        docs += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


K8S_DOCS = k8s_documents()


def of_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in K8S_DOCS if doc["kind"] == kind}


@pytest.mark.parametrize("filename, doc", K8S_DOCS, ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in K8S_DOCS])
def test_kubernetes_manifest_is_valid(filename, doc):
    # strict: unknown fields are errors too (a misspelt key would otherwise be silently dropped).
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    assert doc["metadata"].get("namespace") == "govstack" or doc["kind"] == "Namespace"


def test_kustomization_applies_every_manifest_but_the_secret_template():
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    files = {p.name for p in K8S_DIR.glob("*.yaml")} - K8S_NOT_RESOURCES - K8S_NOT_APPLIED
    assert set(kustomization["resources"]) == files


WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def workloads() -> dict[str, dict]:
    """Every Deployment and StatefulSet by name (names are unique across both)."""
    found = {}
    for kind in WORKLOAD_KINDS:
        for name, doc in of_kind(kind).items():
            assert name not in found, f"{name} is both a {found[name]['kind']} and a {kind}"
            found[name] = doc
    return found


def containers_of(deployment: dict) -> list[dict]:
    return deployment["spec"]["template"]["spec"]["containers"]


def container_env(container: dict) -> dict[str, str]:
    """A container's environment as the pod gets it: the ConfigMaps of envFrom, then env (Secret keys from the template)."""
    configmaps, secrets = of_kind("ConfigMap"), of_kind("Secret")
    env = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]]["data"])
    for e in container.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            value = secrets[ref["name"]]["stringData"].get(ref["key"])
            assert value, f"{container['name']}: secret key {ref['key']} not in the template"
            env[e["name"]] = value
        else:
            env[e["name"]] = e["value"]
    return env


def test_every_workload_has_probes_and_resources():
    assert of_kind("Deployment") and of_kind("StatefulSet")
    for name, deployment in workloads().items():
        for container in containers_of(deployment):
            assert container.get("livenessProbe") and container.get("readinessProbe"), f"{name}: probes"
            requests = container.get("resources", {}).get("requests", {})
            limits = container.get("resources", {}).get("limits", {})
            assert {"cpu", "memory"} <= set(requests), f"{name}: resource requests"
            assert "memory" in limits, f"{name}: memory limit"


def test_every_workload_runs_restricted_with_its_own_image_and_declared_volumes():
    """What the namespace's Pod Security "restricted" level demands, the image of the service the args start, and every
    mount backed by a pod volume or a claim template."""
    for name, workload in workloads().items():
        spec = workload["spec"]
        assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items(), name
        pod = spec["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        volumes = {v["name"] for v in pod.get("volumes", [])}
        claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
        assert not volumes & claims, f"{name}: {sorted(volumes & claims)} both a pod volume and a claim template"
        for container in containers_of(workload):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            service = container["args"][2]
            assert container["args"][:2] == ["python", "-m"] and container["image"].startswith(f"govstack/{service}:"), name
            mounts = container.get("volumeMounts", [])
            assert {m["name"] for m in mounts} <= volumes | claims, f"{name}: a mount without a volume"
            assert len({m["mountPath"] for m in mounts}) == len(mounts), f"{name}: two mounts at one path"


def test_every_building_block_has_api_service_relay_and_consumer():
    deployments, services = workloads(), of_kind("Service")
    for service in SERVICES:
        port = settings_class(service).model_fields["port"].default
        api = containers_of(deployments[service])[0]
        assert api["args"] == ["python", "-m", service, "api"]
        assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert [p["containerPort"] for p in api["ports"]] == [port]
        assert services[service]["spec"]["selector"].items() <= deployments[service]["spec"]["template"]["metadata"]["labels"].items()
        assert [p["port"] for p in services[service]["spec"]["ports"]] == [port]
        for worker in WORKERS:
            container = containers_of(deployments[f"{service}-{worker}"])[0]
            assert container["args"] == ["python", "-m", service, worker]


def test_hpas_target_existing_workloads():
    hpas = of_kind("HorizontalPodAutoscaler")
    targets = set()
    for name, hpa in hpas.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] in WORKLOAD_KINDS and target["name"] in of_kind(target["kind"]), f"{name} targets {target}"
        assert target["apiVersion"] == "apps/v1", name
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        targets.add(target["name"])
    assert {"gateway"} | {f"{s}-consumer" for s in SERVICES} <= targets


# What browsers and outside applications may reach: the gateway, the portal, and identity's sign-in pages only.
INGRESS_EXPOSES = {"gateway": ("/",), "web": ("/",), "identity": ("/authorize",)}


def test_ingress_exposes_only_the_gateway_the_portal_and_the_sign_in_pages():
    services = of_kind("Service")
    exposed = set()
    for ingress in of_kind("Ingress").values():
        assert ingress["spec"]["tls"], "public hosts are served over TLS"
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert path["path"] in INGRESS_EXPOSES.get(backend["name"], ()), f"{backend['name']} {path['path']} is exposed"
                assert backend["port"]["name"] in {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
                exposed.add(backend["name"])
    assert exposed == set(INGRESS_EXPOSES)


def test_the_portal_runs_in_kubernetes_like_in_compose():
    deployments, services = of_kind("Deployment"), of_kind("Service")
    api = containers_of(deployments["web"])[0]
    assert api["args"] == ["python", "-m", "web", "api"]
    assert [p["port"] for p in services["web"]["spec"]["ports"]] == [settings_class("web").model_fields["port"].default]
    env = {e["name"]: e.get("value") for e in api["env"]}
    # Browsers are sent to identity's public sign-in host, never to the in-cluster issuer name.
    assert env["IDENTITY_BROWSER_URL"].startswith("https://") and env["IDENTITY_URL"] == "http://identity:8001"
    for worker in WORKERS:
        assert containers_of(deployments[f"web-{worker}"])[0]["args"] == ["python", "-m", "web", worker]


def test_kubernetes_environment_is_read_by_the_settings():
    configmaps = of_kind("ConfigMap")
    # The shared ConfigMap goes to every building block, so it may hold only settings all of them read.
    common = configmaps["govstack-common"]["data"]
    assert not set(common) - common_env_names(), f"not common settings: {sorted(set(common) - common_env_names())}"
    for name, deployment in workloads().items():
        service = name.split("-")[0]
        for container in containers_of(deployment):
            names = {e["name"] for e in container.get("env", [])}
            unknown = names - env_names(settings_class(service))
            assert not unknown, f"{name} sets variables {service} never reads: {sorted(unknown)}"
            assert {e["value"] for e in container["env"] if e["name"] == "SERVICE_NAME"} == {service}
            # Production validators run here: a secret the service insists on in production must be wired in.
            settings = load_settings(service, container_env(container))
            assert settings.environment == "production" and settings.is_postgres, name


def test_gateway_api_is_a_statefulset_with_its_journal_on_a_claim_per_pod():
    """The message log's journal must outlive the pod (and its node): a replaced pod gets its ordinal's claim back and
    replays what its predecessor journaled. Relay and consumer write no journal and stay Deployments."""
    deployments, statefulsets, services = of_kind("Deployment"), of_kind("StatefulSet"), of_kind("Service")
    assert set(statefulsets) == {"gateway"} and "gateway" not in deployments
    assert {"gateway-relay", "gateway-consumer"} <= set(deployments)
    gateway = statefulsets["gateway"]["spec"]

    # One ReadWriteOnce claim per pod on the cluster's default StorageClass, kept when scaled down or deleted.
    [claim] = gateway["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert "storageClassName" not in claim["spec"], "the cluster's default StorageClass applies"
    retention = gateway.get("persistentVolumeClaimRetentionPolicy", {})
    assert retention.get("whenScaled", "Retain") == "Retain" and retention.get("whenDeleted", "Retain") == "Retain"

    # The journal directory the settings compute lies on the claim's mount, not on another volume mounted inside it.
    [api] = containers_of(statefulsets["gateway"])
    assert api["args"] == ["python", "-m", "gateway", "api"]
    [journal_mount] = [m for m in api["volumeMounts"] if m["name"] == claim["metadata"]["name"]]
    assert not journal_mount.get("readOnly") and not journal_mount.get("subPath")
    env = container_env(api)
    assert env["MESSAGE_LOG_JOURNAL_DIR"] == journal_mount["mountPath"]
    journal_dir = load_settings("gateway", env).journal_dir
    covering = [m for m in api["volumeMounts"] if journal_dir.is_relative_to(m["mountPath"])]
    assert max(covering, key=lambda m: len(Path(m["mountPath"]).parts)) is journal_mount
    for name in ("gateway-relay", "gateway-consumer"):
        assert "MESSAGE_LOG_JOURNAL_DIR" not in container_env(containers_of(deployments[name])[0]), name

    # serviceName names a headless Service of the same pods; traffic keeps going through the ClusterIP Service gateway.
    pod_labels = gateway["template"]["metadata"]["labels"]
    headless = services[gateway["serviceName"]]
    assert headless["spec"].get("clusterIP") == "None"
    assert headless["spec"]["selector"].items() <= pod_labels.items()
    assert headless["metadata"]["namespace"] == statefulsets["gateway"]["metadata"]["namespace"]
    traffic = services["gateway"]
    assert traffic is not headless and traffic["spec"].get("clusterIP") != "None"
    assert traffic["spec"]["selector"].items() <= pod_labels.items()
    assert gateway["selector"]["matchLabels"].items() <= traffic["spec"]["selector"].items(), "the Service selects the StatefulSet's pods only"
    for name in ("gateway-relay", "gateway-consumer"):
        relay_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert not traffic["spec"]["selector"].items() <= relay_labels.items(), f"{name}'s pods would receive the gateway's traffic"
    assert of_kind("HorizontalPodAutoscaler")["gateway"]["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "name": "gateway"}


# ---------------------------------------------------------------- events on a fresh broker

def event_consumers() -> set[str]:
    """The services whose consumer declares a queue (one named after the service): those that handle events."""
    return {service for service in COMPOSE_SERVICES if importlib.import_module(f"{service}.handlers").HANDLERS}


def test_relays_wait_for_the_queues_of_every_consumer_of_events(containers):
    """Else a relay could publish on a fresh broker before a consumer has bound its queue, and the event is dropped."""
    expected = event_consumers()
    assert expected >= {"consent", "messaging"}
    relays = {name: container for name, container in containers.items() if name.endswith("-relay")}
    assert len(relays) == len(COMPOSE_SERVICES)
    for name, container in relays.items():
        assert set(load_settings(service_of(container), environment(container)).relay_await_queues) == expected, name
    common = of_kind("ConfigMap")["govstack-common"]["data"]
    from kernel.settings import ServiceSettings

    assert set(ServiceSettings(relay_await_queues=common["RELAY_AWAIT_QUEUES"]).relay_await_queues) == expected
    spec = importlib.util.spec_from_file_location("local_run", ROOT / "deploy/local/run.py")
    local_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(local_run)
    assert set(local_run.EVENT_CONSUMERS) == expected

"""The package as users get it: the wheel and sdist built from this checkout, the wheel installed
in a fresh venv outside the repository (with constraints.txt), where `chicrime demo` and
`chicrime serve` work, and the sdist's tests collect exactly like the checkout's. The wheel also
installs and runs on the other Pythons its classifiers name (3.12 and 3.13, from pyenv)."""

from __future__ import annotations

import email.parser
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bootstrap_wrapper
import httpx
import pytest

import chicrime
from chicrime.app import PLOTLY_BUNDLE
from tests.conftest import needs_plotly_bundle
from tests.dash_requests import overview_request
from tests.dashboard_server import free_port
from tests.servers import S3Server

ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "/": "overview",
    "/trends": "trends",
    "/map": "map",
    "/arrests": "arrests",
    "/compare": "compare",
    "/areas": "areas",
    "/changes": "changes",
    "/data": "data",
}
# One component of each page's own layout, as the router sends it.
PAGE_COMPONENTS = {
    "/": "kpi-incidents",
    "/trends": "trends-heatmap",
    "/map": "map-graph",
    "/arrests": "arrests-rates",
    "/compare": "compare-table",
    "/areas": "areas-table",
    "/changes": "changes-table",
    "/data": "data-runs",
}
DEMO_ARGS = ["demo", "--years", "0.2", "--end", "2026-06-30"]
CALLBACK = "/_dash-update-component"
# What the test modules import besides chicrime's own dependencies.
TEST_TOOLS = ("pytest", "hypothesis", "playwright")
# What the in-venv interpreter reports about the installed package and the app it builds.
PROBE = """
import importlib.metadata, importlib.resources, json, dash, chicrime, chicrime.pages
from chicrime.app import create_app
from chicrime.settings import load_settings
create_app(load_settings())
print(json.dumps({
    "version": chicrime.__version__,
    "metadata_version": importlib.metadata.version("chicrime"),
    "package": chicrime.__file__,
    "pages": list(chicrime.pages.__path__),
    "typed": importlib.resources.files("chicrime").joinpath("py.typed").is_file(),
    "registry": {module: page["path"] for module, page in dash.page_registry.items()},
}))
"""


@dataclass(frozen=True)
class Dists:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Venv:
    root: Path
    work: Path  # a working directory outside the repository
    env: dict[str, str]

    @property
    def python(self) -> str:
        return str(self.root / "bin" / "python")

    def run(self, *args: str) -> str:
        return run(list(args), cwd=self.work, env=self.env)


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run `cmd`; its stdout, or a failure showing everything it printed."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def pip_install(venv: Venv, *args: str) -> None:
    """Install into `venv` with this venv's pip (the new venv has none, which keeps it quick)."""
    pip = [sys.executable, "-m", "pip", "--python", venv.python, "install", "--quiet"]
    # Compiling every module at install takes longer than compiling the ones imported here.
    run([*pip, "--no-compile", *args], cwd=venv.work)


def checkout_files(folder: str) -> set[str]:
    """The files under `folder` of the checkout that a source distribution must carry."""
    skipped = {"__pycache__", "artifacts", "results"}
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and not skipped & set(p.relative_to(ROOT).parts)
    }


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    out = tmp_path_factory.mktemp("dist")
    # `build` makes the sdist, then the wheel from the unpacked sdist: the sdist must build too.
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Dists(wheel=wheel, sdist=sdist)


def installed_venv(home: Path, interpreter: str, wheel: Path) -> Venv:
    """A fresh venv of `interpreter` under `home` (outside the repo) with `wheel` installed,
    with its `cloud` extra (boto3, redis)."""
    assert not home.is_relative_to(ROOT)
    (home / "work").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    # Let the venv's processes cache bytecode: pip installed it uncompiled.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env |= {"DATA_DIR": str(home / "data"), "MAP_STYLE": "white-bg"}
    venv = Venv(root=home / "venv", work=home / "work", env=env)
    run([interpreter, "-m", "venv", "--without-pip", str(venv.root)])
    pip_install(venv, "-c", str(ROOT / "constraints.txt"), f"{wheel}[cloud]")
    return venv


@pytest.fixture(scope="module")
def venv(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return installed_venv(tmp_path_factory.mktemp("installed"), sys.executable, dists.wheel)


def other_python(version: str) -> str | None:
    """An interpreter for `version` (e.g. "3.13"): on PATH, or among pyenv's versions."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(pyenv.glob(f"versions/{version}.*/bin/python{version}"))
    return str(found[-1]) if found else shutil.which(f"python{version}")


@pytest.fixture(scope="module")
def dashboard(venv: Venv) -> Iterator[str]:
    """`chicrime serve` from the venv on the demo lake; its URL."""
    venv.run(str(venv.root / "bin" / "chicrime"), *DEMO_ARGS)
    port = free_port()
    log = (venv.work / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(venv.root / "bin" / "chicrime"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=venv.work,
        env=venv.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while server.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail(f"chicrime serve did not answer:\n{(venv.work / 'serve.log').read_text()}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_version_has_one_source() -> None:
    """The installed metadata's version is `chicrime.__version__`, nothing else."""
    assert importlib.metadata.version("chicrime") == chicrime.__version__


def test_wheel_ships_the_package_its_pages_types_and_license(dists: Dists) -> None:
    """Every module of chicrime/ and pages/ is in the wheel, pages/ as `chicrime.pages`, and
    the plotly.js bundle `make` built."""
    needs_plotly_bundle()
    names = set(zipfile.ZipFile(dists.wheel).namelist())
    info = f"chicrime-{chicrime.__version__}.dist-info"
    modules = {n for n in names if not n.startswith(info)}
    expected = {f for f in checkout_files("chicrime") if f.endswith(".py")} | {"chicrime/py.typed"}
    expected |= {f"chicrime/app/static/plotly.min.js{suffix}" for suffix in ("", ".br", ".gz")}
    expected |= {"chicrime/" + f for f in checkout_files("pages")}
    assert sorted(modules) == sorted(expected)
    assert "chicrime/pages/overview.py" in modules
    assert f"{info}/licenses/LICENSE" in names

    metadata = email.parser.Parser().parsestr(
        zipfile.ZipFile(dists.wheel).read(f"{info}/METADATA").decode()
    )
    assert metadata["Version"] == chicrime.__version__
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata.get_all("Project-URL") == [
        "Dataset, https://data.cityofchicago.org/d/ijzp-q8t2"
    ]
    classifiers = metadata.get_all("Classifier") or []
    for classifier in (
        "Framework :: Dash",
        "Typing :: Typed",
        "Programming Language :: Python :: 3.13",
        "Operating System :: POSIX :: Linux",
    ):
        assert classifier in classifiers
    requires = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert "bootstrap-wrapper>=5.3.8.post1" in requires
    cloud = [r for r in metadata.get_all("Requires-Dist") or [] if 'extra == "cloud"' in r]
    assert cloud == ['boto3>=1.44.18; extra == "cloud"', 'redis>=8.2.0; extra == "cloud"']
    assert not [r for r in requires if r.lower().startswith("bootstrap-flask")]


def test_sdist_carries_the_whole_source_tree(dists: Dists) -> None:
    """Tests and their helpers, pages, systemd units, benches, docs and the plotly.js build
    (its script, npm's lock file and the bundle) ship in the sdist."""
    needs_plotly_bundle()
    with tarfile.open(dists.sdist) as tar:
        prefix = f"chicrime-{chicrime.__version__}/"
        names = {m.name.removeprefix(prefix) for m in tar.getmembers() if m.isfile()}
    for folder in ("chicrime", "pages", "tests", "systemd", "bench", "docs/screenshots", "js"):
        shipped = {n for n in names if n.startswith(folder + "/") and "__pycache__" not in n}
        assert sorted(shipped) == sorted(checkout_files(folder)), folder
    for file in ("tests/socrata_server.py", "tests/dashboard_server.py", "tests/conftest.py"):
        assert file in names
    top = {"LICENSE", "README.md", "Makefile", "constraints.txt", ".env.example", "pyproject.toml"}
    top |= {"package.json", "package-lock.json", "chicrime/app/static/plotly.min.js.br"}
    assert top <= names
    assert not [n for n in names if n.endswith((".pyc", ".pyo"))]


def test_constraints_pin_exactly_what_the_wheel_installs(venv: Venv) -> None:
    """The fresh venv holds chicrime's runtime closure, no more, at constraints.txt's pins."""
    pins = [
        line.strip()
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    pip = [sys.executable, "-m", "pip", "--python", venv.python]
    frozen = run([*pip, "freeze", "--exclude", "chicrime"], cwd=venv.work).split()
    assert frozen == pins, "run `make constraints` after changing the dependencies"
    run([*pip, "check"], cwd=venv.work)


def test_installed_package_builds_the_app_with_its_eight_pages(venv: Venv) -> None:
    """Outside the repo the app comes from site-packages and registers each page once."""
    facts = json.loads(venv.run(venv.python, "-c", PROBE))
    site = venv.root / "lib"
    assert facts["version"] == facts["metadata_version"] == chicrime.__version__
    assert Path(facts["package"]).is_relative_to(site)
    assert [Path(p).relative_to(site).parts[-2:] for p in facts["pages"]] == [("chicrime", "pages")]
    assert facts["typed"] is True
    assert facts["registry"] == {f"chicrime.pages.{name}": path for path, name in PAGES.items()}


def test_installed_demo_matches_the_checkout(venv: Venv, tmp_path: Path) -> None:
    """`chicrime demo` from the wheel writes the same lake the checkout's writes."""
    argv = [str(venv.root / "bin" / "chicrime"), *DEMO_ARGS]
    installed = run(argv, cwd=venv.work, env={**venv.env, "DATA_DIR": str(tmp_path / "wheel")})
    checkout = run(
        [str(Path(sys.executable).with_name("chicrime")), *DEMO_ARGS],
        cwd=tmp_path,
        env={**venv.env, "DATA_DIR": str(tmp_path / "checkout")},
    )
    assert installed == checkout
    assert installed.startswith("demo run 1: wrote ")


def test_installed_package_publishes_and_a_follower_serves_it(
    venv: Venv, s3_server: S3Server, tmp_path: Path
) -> None:
    """From the wheel: `chicrime demo` with LAKE_URL publishes to a real S3 server, and a
    follower (what `chicrime serve` runs) switches another DATA_DIR to the same version."""
    env = {
        **venv.env,
        **s3_server.environ(s3_server.bucket),
        "LAKE_URL": f"s3://{s3_server.bucket}/lake",
        "DATA_DIR": str(tmp_path / "ingester"),
    }
    chicrime_bin = str(venv.root / "bin" / "chicrime")
    printed = run([chicrime_bin, *DEMO_ARGS], cwd=venv.work, env=env).splitlines()
    version = (tmp_path / "ingester" / "lake" / "crimes").readlink().name
    assert printed[1].startswith(f"published {version} to s3://{s3_server.bucket}/lake: ")
    follow = (
        "from chicrime.remote.follow import Follower\n"
        "from chicrime.remote.objects import ObjectStore\n"
        "from chicrime.settings import load_settings\n"
        "settings = load_settings()\n"
        "print(Follower(settings, ObjectStore(settings.lake_url)).sync())\n"
    )
    web = {**env, "DATA_DIR": str(tmp_path / "web")}
    assert run([venv.python, "-c", follow], cwd=venv.work, env=web) == "switched\n"
    assert (tmp_path / "web" / "lake" / "crimes").readlink().name == version
    status = json.loads(run([chicrime_bin, "status", "--json"], cwd=venv.work, env=web))
    assert (status["follow"]["version"], status["follow"]["error"]) == (version, None)


def test_installed_server_serves_every_page(venv: Venv, dashboard: str) -> None:
    """Each page, Dash's layout and dependencies and the vendored CSS answer from the wheel."""
    with httpx.Client(base_url=dashboard, timeout=30) as client:
        for path, name in PAGES.items():
            page = client.get(path)
            assert page.status_code == 200, path
            assert f'<meta property="og:title" content="chicrime · {name}">' in page.text

        layout = client.get("/_dash-layout")
        assert layout.status_code == 200
        assert sorted(nav_paths(layout.json())) == sorted(PAGES)

        dependencies = client.get("/_dash-dependencies")
        assert dependencies.status_code == 200
        outputs = [d["output"] for d in dependencies.json()]
        assert len(outputs) == len(set(outputs))
        for component in PAGE_COMPONENTS.values():
            assert [o for o in outputs if component in o], component

        css = client.get("/vendor/bootstrap.min.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        bundled = Path(bootstrap_wrapper.get_bootstrap_css_dir()) / "bootstrap.min.css"
        assert css.content == bundled.read_bytes()

        if PLOTLY_BUNDLE.is_file():  # the wheel's copy (the wheel test requires it under CI)
            plotly = client.get("/_dash-component-suites/plotly/package_data/plotly.min.js")
            assert plotly.content == PLOTLY_BUNDLE.read_bytes()


def test_installed_server_routes_pages_and_reads_the_lake(venv: Venv, dashboard: str) -> None:
    """The router renders each page's own layout; the KPIs count the demo's rows."""
    with httpx.Client(base_url=dashboard, timeout=30) as client:
        for path, component in PAGE_COMPONENTS.items():
            answer = client.post(CALLBACK, json=router_request(path))
            assert answer.status_code == 200, answer.text
            response = answer.json()["response"]
            assert response["_pages_store"]["data"] == {"title": f"chicrime · {PAGES[path]}"}
            assert f'"id": "{component}"' in json.dumps(response["_pages_content"])

        kpis = client.post(CALLBACK, json=overview_request("2026-04-19", "2026-06-30"))
        assert kpis.status_code == 200, kpis.text
    status = json.loads(venv.run(str(venv.root / "bin" / "chicrime"), "status", "--json"))
    # The selection covers the demo's whole window: every row of the (revised) lake.
    assert f'"{status["lake"]["rows"]:,}"' in kpis.text


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_the_wheel_runs_on_every_python_it_claims(
    version: str, dists: Dists, tmp_path: Path
) -> None:
    """With the pinned dependencies, the app builds with its eight pages and the demo writes
    the same lake as on this Python."""
    interpreter = other_python(version)
    if interpreter is None:
        assert os.environ.get("CI") != "true", f"no Python {version}: install it with pyenv"
        pytest.skip(f"no Python {version} on this machine (pyenv install {version})")
    venv = installed_venv(tmp_path, interpreter, dists.wheel)
    facts = json.loads(venv.run(venv.python, "-c", PROBE))
    assert facts["version"] == chicrime.__version__
    assert facts["registry"] == {f"chicrime.pages.{name}": path for path, name in PAGES.items()}
    demo = venv.run(str(venv.root / "bin" / "chicrime"), *DEMO_ARGS)
    checkout = run(
        [str(Path(sys.executable).with_name("chicrime")), *DEMO_ARGS],
        cwd=tmp_path,
        env={**venv.env, "DATA_DIR": str(tmp_path / "checkout")},
    )
    assert demo == checkout


def test_sdist_tests_collect_like_the_checkout(venv: Venv, dists: Dists) -> None:
    """The unpacked sdist's tests, run against the installed wheel, are the checkout's tests."""
    tools = [f"{name}=={importlib.metadata.version(name)}" for name in TEST_TOOLS]
    pip_install(venv, "-c", str(ROOT / "constraints.txt"), *tools)
    unpacked = venv.work / "sdist"
    with tarfile.open(dists.sdist) as tar:
        tar.extractall(unpacked, filter="data")
    (source,) = unpacked.iterdir()
    assert collected(venv, source) == collected(venv, ROOT)


def collected(venv: Venv, root: Path) -> list[str]:
    """The test ids pytest collects under `root`, with chicrime imported from the venv."""
    # `append` keeps the source tree's chicrime/ behind the installed one on sys.path.
    out = venv.run(
        *(venv.python, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"),
        *("--import-mode=append", "--rootdir", str(root), str(root / "tests")),
    )
    ids = [line for line in out.splitlines() if "::" in line]
    assert len(ids) > 100
    assert f"{len(ids)} tests collected" in out
    return ids


def nav_paths(node: object) -> Iterator[str]:
    """The paths of the navbar's links in a serialised Dash layout."""
    if isinstance(node, dict):
        props = node.get("props")
        component = props.get("id") if isinstance(props, dict) else None
        if isinstance(component, dict) and component.get("type") == "nav-link":
            yield component["path"]
        for value in node.values():
            yield from nav_paths(value)
    elif isinstance(node, list):
        for value in node:
            yield from nav_paths(value)


def router_request(pathname: str) -> dict[str, object]:
    """Dash Pages' router callback, as the browser sends it on opening `pathname`."""
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": pathname},
            {"id": "_pages_location", "property": "search", "value": ""},
        ],
        "changedPropIds": ["_pages_location.pathname"],
    }

"""The scheduled-run files of deploy/ do what deploy/README.md says: the units and the crontab line run
`scrapy crawl news` under a lock, the scrapyd egg builds and runs the spider, the manifests have what they need."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.support import newsfarm
from tests.test_crawl import ROOT
from tests.test_distributed import stored_records

DEPLOY = ROOT / "deploy"
BIN = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
# What a crawl of the loopback test site needs beyond the unit's own command line.
LOCAL_SITE = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "BLOCK_PRIVATE_ADDRESSES=False", "-s", "EXTRACT_WORKERS=1"]


def service_command(tmp: Path, seeds: Path, instance: str = "demo") -> list[str]:
    """The service's ExecStart for `instance`, with its paths moved under `tmp` and the seeds file replaced."""
    unit = configparser.ConfigParser(interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "systemd" / "newsdedup@.service")
    command = unit["Service"]["ExecStart"].replace("\\\n", " ").replace("%i", instance)
    assert unit["Service"]["WorkingDirectory"] == "/opt/newsdedup"
    return [_moved(arg, tmp, seeds, f"seeds/{instance}.yaml") for arg in shlex.split(command)] + LOCAL_SITE


def cron_command(tmp: Path, seeds: Path) -> list[str]:
    """The crontab line's command, with its paths moved under `tmp` and the seeds file replaced."""
    line = next(line for line in (DEPLOY / "cron" / "newsdedup.crontab").read_text().splitlines() if line[:1].isdigit())
    minute, hour, day, month, weekday, command = line.split(None, 5)
    assert (minute, hour, day, month, weekday) == ("17", "*", "*", "*", "*")
    command = _moved(command, tmp, seeds, "seeds/openai.yaml").replace("/etc/newsdedup/env", str(tmp / "env"))
    return ["bash", "-c", f"{command} {shlex.join(LOCAL_SITE)}"]


def _moved(text: str, tmp: Path, seeds: Path, seeds_in_unit: str) -> str:
    for old, new in (("/tmp/newsdedup-", f"{tmp}/newsdedup-"), ("/run/lock/", f"{tmp}/"), ("/opt/newsdedup", str(ROOT)),
                     (f"seeds={seeds_in_unit}", f"seeds={seeds}"), ("/var/log/newsdedup/", f"{tmp}/")):  # fmt: skip
        text = text.replace(old, new)
    return text


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    for name in ("newsdedup@.service", "newsdedup@.timer"):
        shutil.copy(DEPLOY / "systemd" / name, tmp_path / name.replace("@", "@openai"))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / "newsdedup@openai.service"),
         str(tmp_path / "newsdedup@openai.timer")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "no unknown section, key or value"


def test_the_service_command_line_runs_the_crawl(tmp_path: Path) -> None:
    with newsfarm.serve(articles=6, clusters=1) as farm:
        seeds = farm.write_seeds(tmp_path / "demo.yaml", name="demo")
        result = subprocess.run(
            service_command(tmp_path, seeds), cwd=ROOT, env={**os.environ, "OUTPUT_URI": str(tmp_path / "out")},
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Crawl summary (finished)" in (tmp_path / "demo.log").read_text(), "logs go to the unit's log file"
    assert len(stored_records(tmp_path / "out")) == len(farm.distinct) + len(farm.clusters())


@pytest.mark.parametrize(("way", "busy_exit"), [("systemd", 0), ("cron", 1)])
def test_a_run_that_finds_the_last_one_still_going_exits_without_crawling(
    way: str, busy_exit: int, tmp_path: Path
) -> None:
    (tmp_path / "env").write_text(f"OUTPUT_URI={tmp_path / 'out'}\n")
    env = {**os.environ, "OUTPUT_URI": str(tmp_path / "out")}
    with newsfarm.serve(articles=24, clusters=2, delay=0.5) as farm:
        seeds = farm.write_seeds(tmp_path / "demo.yaml", name="demo")
        command = service_command(tmp_path, seeds) if way == "systemd" else cron_command(tmp_path, seeds)
        first = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while not any("/20" in url for _, url, _ in farm.request_log) and time.monotonic() < deadline:
                time.sleep(0.02)  # until the first run fetches articles: it holds the lock
            second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
            assert first.poll() is None, "the second run ended while the first was still crawling"
        finally:
            _, log = first.communicate(timeout=300)
        entry_points = [url for _, url, _ in farm.request_log if url.endswith(("/feed/", "/sitemap.xml"))]
    assert first.returncode == 0, log[-3000:]
    assert second.returncode == busy_exit, second.stderr
    assert second.stdout == second.stderr == "", "the second run started no crawl"
    assert len(entry_points) == len(set(entry_points)) == 2 * len(farm.base_urls), "only the first run crawled"


def test_the_scrapyd_egg_builds_and_runs_the_news_spider(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("scrapy.cfg", "pyproject.toml", "README.md", "setup.py", "crawler", "pipelines"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():  # setup.py: scrapyd-deploy writes one when the project has none
            shutil.copy(source, project / name)
    egg = tmp_path / "newsdedup.egg"
    build = subprocess.run(
        [str(BIN / "scrapyd-deploy"), "--build-egg", str(egg)], cwd=project, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    with zipfile.ZipFile(egg) as archive:
        names = set(archive.namelist())
        entry_points = archive.read("EGG-INFO/entry_points.txt").decode()
    assert {"crawler/settings.py", "crawler/spiders/news.py", "pipelines/record.schema.json"} <= names
    assert "[scrapy]\nsettings = crawler.settings" in entry_points, "scrapyd finds the settings module this way"
    # What scrapyd's runner does: the egg first on sys.path, settings from its entry point, any working directory.
    listed = subprocess.run(
        [str(BIN / "python"), "-c", f"import sys; sys.path.insert(0, {str(egg)!r}); import crawler; "
         "print(crawler.__file__); from scrapy.cmdline import execute; execute(['scrapy', 'list'])"],
        cwd=tmp_path, env={**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings"}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert listed.stdout.splitlines() == [f"{egg}/crawler/__init__.py", "archive", "news"]


def test_the_scrapyd_config_serves_on_loopback_without_feed_exports() -> None:
    config = configparser.ConfigParser()
    config.read(DEPLOY / "scrapyd" / "scrapyd.conf")
    assert config["scrapyd"]["bind_address"] == "127.0.0.1"
    assert config["scrapyd"]["items_dir"] == "", "records go through the pipelines, not scrapyd's feeds"


def test_the_kubernetes_cronjob_never_runs_two_crawls_at_once() -> None:
    job = yaml.safe_load((DEPLOY / "k8s" / "cronjob.yaml").read_text())
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "CronJob")
    spec = job["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert len(spec["schedule"].split()) == 5
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["args"][:2] == ["crawl", "news"]
    assert container["envFrom"] == [{"secretRef": {"name": "newsdedup-env"}}], "credentials from a Secret"
    state = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}["state"]
    assert f"HTTPCACHE_DIR={state}/httpcache" in container["args"], "the HTTP cache outlives the pod"
    assert f"STORE_SPOOL_DIR={state}/spool" in container["args"]
    assert {"name": "state", "persistentVolumeClaim": {"claimName": "newsdedup-state"}} in pod["volumes"]


def test_the_compose_stack_keeps_redis_off_the_host() -> None:
    stack = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    assert "version" not in stack, "the Compose Specification has no version key"
    services = stack["services"]
    assert {"redis", "minio", "bucket", "crawler"} <= set(services)
    assert "ports" not in services["redis"], "Redis is reached on the stack's network only"
    assert all("links" not in service for service in services.values())
    assert all(port.startswith("127.0.0.1:") for port in services["minio"]["ports"])
    crawler = services["crawler"]
    assert crawler["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert crawler["environment"]["S3_ENDPOINT_URL"] == "http://minio:9000"
    assert crawler["depends_on"] == {
        "redis": {"condition": "service_healthy"}, "bucket": {"condition": "service_completed_successfully"}
    }
    context = (DEPLOY / "compose" / crawler["build"]["context"]).resolve()
    assert context == ROOT and (context / crawler["build"]["dockerfile"]).is_file()

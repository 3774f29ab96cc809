"""End to end: `scrapy crawl news` over the demo news site on 127.0.0.1, into a local directory and into S3.

The site (demo/site.py) plants AMP, print, tracking-URL, exact and syndicated copies, doubled bodies,
off-topic articles, listing/tag/author/contact/legal pages and bad inputs, and tells the ground truth.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import jsonschema
import pytest
import yaml

from model.urls import request_url, url_key
from demo.site import DemoSite, serve
from tests.support.http import serving
from tests.support.servers import CephRGW

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "pipelines" / "record.schema.json").read_text())
TOPIC = ["OpenAI", "Altman", "Musk", "ChatGPT"]
# Lines of page furniture the demo pages carry around their articles; none may reach a record.
BOILERPLATE = [
    "Partager l'article", "Partager l’article", "Discord", "Advertisement", "Publicité", "Articles récents",
    "newsletter", "Newsletter", "commission d’affiliation", "commission d'affiliation", "Laisser un commentaire",
    "Tous droits réservés", "À lire aussi",
]  # fmt: skip


@dataclass
class CrawlResult:
    returncode: int
    log: str
    output: Path

    @property
    def manifest(self) -> dict[str, Any]:
        manifests = sorted(self.output.rglob("manifest.json"), key=lambda p: p.stat().st_mtime)
        return json.loads(manifests[-1].read_text())

    @property
    def stats(self) -> dict[str, Any]:
        return self.manifest["stats"]

    def records(self) -> list[dict[str, Any]]:
        return [
            json.loads(line)
            for part in sorted(self.output.rglob("part-*.jsonl.gz"))
            for line in gzip.decompress(part.read_bytes()).splitlines()
        ]

    def duplicates_log(self) -> list[dict[str, Any]]:
        return [
            json.loads(line)
            for log in self.output.rglob("duplicates-*.jsonl.gz")
            for line in gzip.decompress(log.read_bytes()).splitlines()
        ]


def crawl_command(seeds: Path, output: str | Path, *settings: str) -> list[str]:
    """`scrapy crawl news` for a local test site: no politeness delays, loopback allowed, and an HTTP cache of
    this output's own (the project's shared one would answer for another test's server that had the same port)."""
    command = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"seeds={seeds}", "-s", f"OUTPUT_URI={output}"]
    cache = Path(tempfile.gettempdir()) / "newsdedup-test-httpcache" / hashlib.sha256(str(output).encode()).hexdigest()
    defaults = (
        "AUTOTHROTTLE_ENABLED=False", "BLOCK_PRIVATE_ADDRESSES=False", "EXTRACT_WORKERS=2", "LOG_LEVEL=INFO",
        f"HTTPCACHE_DIR={cache}",
    )  # fmt: skip
    for setting in (*defaults, *settings):
        command += ["-s", setting]
    return command


def crawl(seeds: Path, output: str | Path, *settings: str, env: dict[str, str] | None = None) -> CrawlResult:
    result = subprocess.run(
        crawl_command(seeds, output, *settings),
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}, check=False,
    )  # fmt: skip
    return CrawlResult(result.returncode, result.stderr, Path(output) if not str(output).startswith("s3:") else Path())


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with serve(day=1) as demo:
        yield demo


@contextmanager
def serve_renderings_sitemaps(site: DemoSite) -> Iterator[dict[str, str]]:
    """Serve on 127.0.0.1, per outlet, a sitemap of its stories' AMP and print renderings, as news sitemaps often
    list them (the demo pages link them only from article pages, whose links are not followed): the crawl then
    fetches those copies and has to drop and link them. Yields outlet host:port -> the sitemap's URL."""
    renderings: dict[str, list[str]] = {}
    for story in site.stories:
        for copy in story.copies:
            if copy.kind in ("amp", "print"):
                renderings.setdefault(urlsplit(copy.url).netloc, []).append(copy.url)
    bodies = {
        f"/{n}.xml": '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{escape(url)}</loc></url>" for url in urls) + "</urlset>"
        for n, urls in enumerate(renderings.values())
    }  # fmt: skip

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            body = bodies.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server, "renderings-sitemaps"):
        yield {netloc: f"{base}/{n}.xml" for n, netloc in enumerate(renderings)}


@pytest.fixture(scope="module")
def renderings_sitemaps(site: DemoSite) -> Iterator[dict[str, str]]:
    with serve_renderings_sitemaps(site) as sitemaps:
        yield sitemaps


@pytest.fixture(scope="module")
def seeds(site: DemoSite, renderings_sitemaps: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's seeds, each outlet's sitemaps including the one of its AMP and print renderings."""
    path = tmp_path_factory.mktemp("seeds") / "demo.yaml"
    site.write_seeds(path, name="demo", keywords=TOPIC, since="2023-01-01")
    doc = yaml.safe_load(path.read_text())
    for entry in doc["sites"]:
        sitemap = renderings_sitemaps.get(urlsplit(entry["sitemaps"][0]).netloc)
        entry["sitemaps"] += [sitemap] if sitemap else []
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return path


@pytest.fixture(scope="module")
def first_run(seeds: Path, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    result = crawl(seeds, tmp_path_factory.mktemp("out"))
    assert result.returncode == 0, result.log[-3000:]
    return result


def test_every_story_is_stored_once_with_clean_text_and_metadata(site: DemoSite, first_run: CrawlResult) -> None:
    records = first_run.records()
    by_key = {url_key(r["canonical_url"]): r for r in records}
    assert len(by_key) == len(records), "one record per article"
    assert sorted(by_key) == sorted(url_key(story.url) for story in site.stories)
    for story in site.stories:
        record = by_key[url_key(story.url)]
        jsonschema.validate(record, SCHEMA)
        assert record["url"] == story.url, "the original is the copy kept"
        assert record["title"] == story.title
        assert record["published"][:10] == story.published, "the day, in the page's own offset"
        assert story.first_paragraph in record["text"]
        assert story.last_paragraph in record["text"]
        assert record["text"].count(story.first_paragraph) == 1, "a doubled body is stored once"
        leaked = [line for line in BOILERPLATE if line in record["text"]]
        assert not leaked, f"{story.url}: boilerplate in text: {leaked}"
        assert record["language"] == "fr"


def test_copies_are_dropped_and_linked_to_the_kept_record(site: DemoSite, first_run: CrawlResult) -> None:
    records = {url_key(r["url"]): r for r in first_run.records()}
    fetched = {url for _, url, status in site.request_log if status == 200}
    logged = {(entry["kept_url"], entry["url"]): entry for entry in first_run.duplicates_log()}
    reasons = {"amp": "same_url", "print": "same_url", "exact": "exact", "syndicated": "near_duplicate"}
    kinds = {copy.kind for story in site.stories for copy in story.copies}
    assert kinds == {"tracking", *reasons}, "the demo plants every kind of copy"
    requested = []
    for story in site.stories:
        kept = records[url_key(story.url)]
        linked = {d["url"]: d for d in kept["duplicates"]}
        for copy in story.copies:
            if request_url(copy.url) != copy.url:  # tracking parameters: the article itself is requested instead
                assert request_url(copy.url) == story.url, f"{copy.kind} copy {copy.url}"
                continue
            requested.append(copy)
            assert copy.url.split("://", 1)[1] in fetched, f"{copy.kind} copy {copy.url} never fetched"
            assert copy.url in linked, f"{copy.kind} copy {copy.url} not linked to {story.url}"
            assert linked[copy.url]["reason"] == logged[(story.url, copy.url)]["reason"] == reasons[copy.kind]
            if copy.kind == "syndicated":
                assert linked[copy.url]["similarity"] == pytest.approx(copy.jaccard, abs=0.02)
    assert {copy.kind for copy in requested} >= {"amp", "exact", "syndicated"}
    log_urls = [entry["url"] for entry in first_run.duplicates_log()]
    assert sorted(log_urls) == sorted(copy.url for copy in requested), "each copy logged once, nothing else"


def test_non_articles_bad_inputs_and_off_topic_pages_are_counted_not_stored(
    site: DemoSite, first_run: CrawlResult
) -> None:
    stored = {url_key(r["url"]) for r in first_run.records()}
    assert not stored & {url_key(u) for u in [*site.non_article_urls, *site.offtopic_urls, *site.bad_urls.values()]}
    stats = first_run.stats
    assert stats["crawl/failed/http_404"] >= 1
    assert stats["crawl/failed/http_500"] >= 1
    assert stats["crawl/skipped/empty"] >= 1
    assert stats["crawl/encoding_fallback"] >= 1
    assert stats["select/off_topic"] >= 1
    assert stats.get("log_count/CRITICAL", 0) == 0
    assert "Traceback" not in first_run.log


def test_manifest_lists_every_part_with_counts_and_checksums(first_run: CrawlResult) -> None:
    manifest = first_run.manifest
    assert manifest["finish_reason"] == "finished"
    assert manifest["records"] == len(first_run.records()) == first_run.stats["store/records"]
    for part in manifest["parts"]:
        data = (first_run.output / part["key"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == part["sha256"]
        assert len(gzip.decompress(data).splitlines()) == part["records"]
    assert manifest["failed_parts"] == []


def test_no_console_or_remote_control_runs_inside_the_crawl(first_run: CrawlResult) -> None:
    enabled = first_run.log.split("Enabled extensions:", 1)[1].split("]", 1)[0]
    assert "pipelines.summary.CrawlSummary" in enabled
    assert "TelnetConsole" not in enabled and "RemoteControl" not in enabled


def test_a_second_run_into_the_same_output_stores_nothing_new(seeds: Path, first_run: CrawlResult) -> None:
    before = len(first_run.records())
    again = crawl(seeds, first_run.output)
    assert again.returncode == 0, again.log[-3000:]
    assert again.manifest["records"] == 0
    assert len(again.records()) == before
    assert again.stats["dedup/state_docs_loaded"] == before
    assert again.stats["crawl/skipped/already_stored"] >= before


def test_a_later_run_drops_a_new_syndicated_copy_and_records_the_link(tmp_path: Path) -> None:
    with serve(day=1) as day1:
        seeds = tmp_path / "day1.yaml"
        day1.write_seeds(seeds, name="demo", keywords=TOPIC, since="2023-01-01")
        assert crawl(seeds, tmp_path / "out").returncode == 0
        originals = {s.key: s for s in day1.stories}
    with serve(day=2) as day2:
        seeds = tmp_path / "day2.yaml"
        day2.write_seeds(seeds, name="demo", keywords=TOPIC, since="2023-01-01")
        later = crawl(seeds, tmp_path / "out")
        assert later.returncode == 0, later.log[-3000:]
        new_stories = [s for s in day2.stories if s.key not in originals]
        new_copies = [c for s in day2.stories for c in s.copies if c.kind == "syndicated" and s.key in originals]
    stored_now = json.loads(json.dumps(later.manifest))["records"]
    assert stored_now == len(new_stories) == 1
    assert later.stats["dedup/near_duplicate"] >= 1
    logged_urls = {entry["url"] for entry in later.duplicates_log()}
    assert any(url_key(copy.url) in {url_key(u) for u in logged_urls} for copy in new_copies)


@pytest.mark.s3
def test_crawl_into_s3_compatible_storage(seeds: Path, ceph_rgw: CephRGW, s3_bucket: str) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": ceph_rgw.access_key,
        "AWS_SECRET_ACCESS_KEY": ceph_rgw.secret_key,
        "AWS_DEFAULT_REGION": ceph_rgw.region,
        "S3_ENDPOINT_URL": ceph_rgw.endpoint_url,
        "S3_ADDRESSING_STYLE": "path",
    }
    result = crawl(seeds, f"s3://{s3_bucket}/news", env=env)
    assert result.returncode == 0, result.log[-3000:]
    client = ceph_rgw.client()
    keys = [obj["Key"] for obj in client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    manifests = [key for key in keys if key.endswith("manifest.json")]
    assert len(manifests) == 1 and manifests[0].startswith("news/demo/")
    manifest = json.loads(client.get_object(Bucket=s3_bucket, Key=manifests[0])["Body"].read())
    assert manifest["records"] >= 5
    assert "news/demo/_state/dedup.npz" in keys
    for part in manifest["parts"]:
        body = client.get_object(Bucket=s3_bucket, Key=f"news/{part['key']}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == part["sha256"]
    assert ceph_rgw.secret_key not in result.log, "credentials never logged"


@pytest.mark.s3
@pytest.mark.parametrize(
    ("secret", "bucket", "message"),
    [("wrong-secret", None, "HTTP 403"), (None, "no-such-bucket", "HTTP 404: the bucket does not exist")],
)
def test_unusable_storage_stops_the_crawl_before_any_request(
    site: DemoSite, seeds: Path, ceph_rgw: CephRGW, s3_bucket: str, secret: str | None, bucket: str | None, message: str
) -> None:
    requests_before = len(site.request_log)
    bucket = bucket or s3_bucket
    env = {"AWS_ACCESS_KEY_ID": ceph_rgw.access_key, "AWS_SECRET_ACCESS_KEY": secret or ceph_rgw.secret_key}
    result = crawl(seeds, f"s3://{bucket}/news", f"S3_ENDPOINT_URL={ceph_rgw.endpoint_url}", env=env)
    assert result.returncode == 1
    assert f"cannot write to s3://{bucket}/news: {message}" in result.log
    assert len(site.request_log) == requests_before, "no page was requested"


def test_bad_seeds_file_stops_the_crawl_with_file_key_and_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: demo\nsites:\n  - name: a\n    feeds: ['http://127.0.0.1:9/feed']\n    allow: ['(']\n")
    result = crawl(bad, tmp_path / "out")
    assert result.returncode != 0
    assert f"{bad}: sites[0].allow[0]: bad regex '('" in result.log
    assert "downloader/request_count" not in result.log
    assert not (tmp_path / "out").exists()

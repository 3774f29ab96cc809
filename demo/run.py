"""`make demo`: serve the demo news site on loopback (127.0.0.11-16), crawl it with `scrapy crawl news`, summarize
the run and point at its report page.

The crawl is the real command a user runs, with the demo's seeds file; only politeness delays are off,
since the site is local.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from demo.site import serve
from pipelines.report.core import verdict_lines
from pipelines.summary import summarize

ROOT = Path(__file__).resolve().parent.parent
TOPIC = ["OpenAI", "Altman", "Musk", "ChatGPT"]


def crawl(seeds: Path, output: Path, *settings: str) -> int:
    """Run `scrapy crawl news` on `seeds` into `output`; returns its exit code."""
    command = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"seeds={seeds}", "-s", f"OUTPUT_URI={output}"]
    # A local site: no politeness delays, and loopback hosts allowed.
    command += ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "BLOCK_PRIVATE_ADDRESSES=False"]
    for setting in settings:
        command += ["-s", setting]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def latest_run(output: Path, crawl_name: str) -> Path:
    """The directory of the crawl's latest finished run (the one with the newest manifest)."""
    manifests = sorted((output / crawl_name).glob("*/*/manifest.json"), key=lambda path: path.stat().st_mtime)
    if not manifests:
        raise SystemExit(f"no manifest under {output / crawl_name}: the crawl did not finish")
    return manifests[-1].parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "output", help="OUTPUT_URI of the crawl (default ./output)")
    parser.add_argument("--log-level", default="WARNING", help="Scrapy LOG_LEVEL during the crawl")
    args = parser.parse_args(argv)
    # The demo site is new at every run (new ports, new URLs): earlier demo runs and their dedup state
    # describe a site that no longer exists, so the demo starts fresh.
    shutil.rmtree(args.output / "demo", ignore_errors=True)
    with serve(day=1) as site, tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "demo.yaml"
        site.write_seeds(seeds, name="demo", keywords=TOPIC, since="2023-01-01")
        print(f"Demo site: {len(site.outlets)} outlets on loopback, crawling into {args.output} …", flush=True)
        code = crawl(seeds, args.output, f"LOG_LEVEL={args.log_level}")
    if code:
        raise SystemExit(f"scrapy crawl exited with {code}")
    run = latest_run(args.output, "demo")
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    print(summarize({**manifest["stats"], "finish_reason": manifest["finish_reason"]}))
    print("\nStored articles:")
    for part in manifest["parts"]:
        for line in gzip.decompress((args.output / part["key"]).read_bytes()).splitlines():
            record = json.loads(line)
            copies = ", ".join(f"{d['reason']}" for d in record["duplicates"]) or "no copies"
            print(f"  {record['published']}  {record['site']:<16} {record['title'][:70]}  [{copies}]")
    print(f"\nManifest: {run / 'manifest.json'}")
    report = run / "report.json"
    if not report.is_file():
        raise SystemExit("No report.json beside the manifest: see the crawl log (REPORT_ENABLED, report/error)")
    print("\n".join(verdict_lines(json.loads(report.read_text(encoding="utf-8")))))
    print(f"Report page: {(run / 'report.html').resolve()}")


if __name__ == "__main__":
    main()

"""Render a crawl report (the dict of pipelines.report.core) as one self-contained static HTML page.

Pure. Inline CSS and SVG, no script, no external asset: the page opens from a file or an S3 download with no
network. Titles and URLs come from hostile pages, so every piece of data is escaped, only http(s) URLs become
links, and a Content-Security-Policy forbids scripts and remote loads even if something slipped through.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import urlsplit

from pipelines.report.core import DROP_LABELS, FIELDS, REQUIRED_FIELDS, bin_date, noun, plural

__all__ = ["render_html"]

_CSS = """
:root{--ok:#1a7f37;--ok-bg:#dafbe1;--warning:#8a5a00;--warning-bg:#fff4c2;--unhealthy:#c62828;--unhealthy-bg:#ffe5e3;
--muted:#5b6470;--line:#d8dee4;--bg:#f4f6f8;--accent:#2f6fde;--ink:#1f2328}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"DejaVu Sans",sans-serif}
main{max-width:1240px;margin:0 auto;padding:24px 20px 40px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
h1{font-size:26px;margin:0}h2{font-size:19px;margin:0 0 2px}h3{font-size:14px;margin:14px 0 6px}
.sub,.hint,.muted{color:var(--muted)}.hint{margin:0 0 12px}.sub{margin:2px 0 14px}
header{margin-bottom:8px}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 20px;margin:16px 0;overflow-x:auto}
.banner{border-radius:10px;padding:12px 16px;font-size:16px;font-weight:600;border:1px solid}
.banner ul{margin:6px 0 0;padding-left:20px;font-weight:400;font-size:14px}
.banner.ok{background:var(--ok-bg);color:var(--ok)}.banner.warning{background:var(--warning-bg);color:var(--warning)}
.banner.unhealthy{background:var(--unhealthy-bg);color:var(--unhealthy)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px}
.card{border:1px solid var(--line);border-radius:8px;padding:8px 12px}
.card b{display:block;font-size:22px;font-variant-numeric:tabular-nums}.card span{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%}
th,td{padding:6px 7px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f6f8fa;font-size:12px;font-weight:600;color:#3b434c;vertical-align:bottom}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.source{min-width:250px;max-width:380px}
tr.unhealthy td:first-child{box-shadow:inset 4px 0 var(--unhealthy)}tr.warning td:first-child{box-shadow:inset 4px 0 #d4a72c}
tr.ok td:first-child{box-shadow:inset 4px 0 #4ac26b}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.ok{background:var(--ok-bg);color:var(--ok)}.badge.warning{background:var(--warning-bg);color:var(--warning)}
.badge.unhealthy{background:var(--unhealthy-bg);color:var(--unhealthy)}
.reasons{margin:4px 0 0;padding-left:16px;font-size:13px}.reasons li.unhealthy{color:var(--unhealthy)}
.reasons li.warning{color:var(--warning)}.reasons li.note{color:var(--muted)}
.low{color:var(--unhealthy);font-weight:600}
.drops{font-size:12px;min-width:130px}
.url{font-size:12px;color:var(--muted);word-break:break-all}
.site{font-weight:600;white-space:nowrap}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:12px;color:var(--muted);margin:0 0 12px}
.history i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:2px;background:#e6e9ed}
.history i.ok{background:#4ac26b}.history i.warning{background:#d4a72c}.history i.unhealthy{background:var(--unhealthy)}
svg text{font-family:inherit}
.cluster{display:grid;grid-template-columns:minmax(240px,1fr) 2fr;border:1px solid var(--line);border-radius:8px;
margin:10px 0;overflow:hidden}
.kept{padding:10px 12px;background:#f3fbf5;border-right:1px solid var(--line)}
.kept .label,.copies .label{font-size:11px;font-weight:700;letter-spacing:.04em;color:var(--ok);text-transform:uppercase}
.copies .label{color:var(--unhealthy)}.copies{padding:10px 12px}.copies table td{font-size:13px}
.more{color:var(--muted);font-style:italic;margin:8px 0 0}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:20px}
"""

_VERDICT_LABELS = {"ok": "Healthy", "warning": "Warning", "unhealthy": "Unhealthy"}
_COPY_REASONS = {
    "same_url": "same article under another URL (AMP, print, tracking parameters, canonical)",
    "exact": "identical text",
    "near_duplicate": "near-duplicate: the same text with small edits",
}
_ROW, _LEFT, _PLOT, _UNDATED, _TOP = 28, 170, 760, 110, 34


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _clip(text: str | None, length: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1] + "…"


def _link(url: str | None, text: str) -> str:
    """A link only to http(s): a `javascript:` or `data:` URL from a hostile page stays inert text."""
    if url and urlsplit(url).scheme in ("http", "https"):
        return f'<a href="{_e(url)}" rel="noopener noreferrer nofollow">{_e(text)}</a>'
    return _e(text)


def _n(value: Any) -> str:
    return "—" if value is None else f"{value:,}" if isinstance(value, int) else _e(value)


def _time(iso: str | None) -> str:
    """`2026-11-24T00:05:17+00:00` reads `2026-11-24 00:05 UTC` (run times are UTC)."""
    return _e(f"{iso[:10]} {iso[11:16]} UTC") if iso and len(iso) >= 16 else _e(iso or "—")


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def _badge(verdict: str) -> str:
    return f'<span class="badge {_e(verdict)}">{_VERDICT_LABELS[verdict]}</span>'


def _table(headers: Sequence[tuple[str, str]], rows: Iterable[str]) -> str:
    """`headers`: (label, css class) pairs; `rows`: rendered `<tr>`s."""
    head = "".join(f'<th class="{cls}">{label}</th>' for label, cls in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _more(omitted: int, what: str, where: str) -> str:
    if not omitted:
        return ""
    return f'<p class="more">… and {omitted:,} more {noun(omitted, what)}, not listed here: {where}.</p>'


# -- sections --------------------------------------------------------------------------------------


def _header(report: Mapping[str, Any]) -> str:
    runs = report["runs"]
    if len(runs) == 1:
        run = runs[0]
        seconds = f" · took {float(run['elapsed_seconds']):.1f} s" if run.get("elapsed_seconds") is not None else ""
        when = f"Run {_e(run['run_id'])} · started {_time(run['started_at'])}{seconds} · ended: {_e(run['finish_reason'])}"
    else:
        when = f"{len(runs)} runs, from {_time(runs[0]['started_at'])} to {_time(runs[-1]['started_at'])}"
    counts, sources = report["totals"]["sources"], report["sources"]
    verdict = report["verdict"]
    bad = [s["site"] for s in sources if s["verdict"] == "unhealthy"]
    if verdict == "unhealthy":
        title = f"✖ Unhealthy: {plural(counts['unhealthy'], 'source')} broken"
        title += f" ({_e(', '.join(bad))})" if bad else ""
    elif verdict == "warning":
        title = f"⚠ Needs attention: {plural(counts['warning'], 'source')} with warnings"
    else:
        title = f"✔ Healthy: all {plural(len(sources), 'source')} work"
    problems = "".join(f"<li>{_e(reason['text'])}</li>" for reason in report["reasons"])
    return (
        f"<header><h1>Crawl report: {_e(report['crawl'] or '—')}</h1><p class=\"sub\">{when}</p>"
        f'<div class="banner {_e(verdict)}">{title}{f"<ul>{problems}</ul>" if problems else ""}</div></header>'
    )


def _totals(report: Mapping[str, Any]) -> str:
    totals = report["totals"]
    copies = sum(totals["drops"][key] for key in ("same_url", "exact", "near_duplicate", "superseded"))
    cards = [
        (totals["pages_fetched"], "pages fetched", "HTML pages, feeds and sitemaps that answered"),
        (totals["failed_requests"], "failed requests", "HTTP errors and network errors, after retries"),
        (totals["articles_extracted"], "articles extracted", "pages whose article text was extracted"),
        (totals["stored"], "articles stored", "kept: on the story, recent enough, not a copy"),
        (copies, "copies dropped", "same URL, identical or near-identical text"),
        (totals["drops"]["off_topic"], "off-topic", "articles without the seeds' keywords"),
        (len(report["sources"]), "sources", f"{totals['sources']['unhealthy']} unhealthy, "
                                            f"{totals['sources']['warning']} with warnings"),
    ]  # fmt: skip
    body = "".join(f'<div class="card" title="{_e(hint)}"><b>{_n(value)}</b><span>{label}</span></div>'
                   for value, label, hint in cards)  # fmt: skip
    runs = report["totals"]["runs"]
    scope = "this run" if runs == 1 else f"the {runs} runs below"
    return (f'<section id="totals"><h2>Totals</h2><p class="hint">What {scope} did, from the first request to '
            f'the last stored record.</p><div class="cards">{body}</div></section>')  # fmt: skip


def _drops_cell(source: Mapping[str, Any]) -> str:
    parts = [f"{DROP_LABELS[key]} {value:,}" for key, value in source["drops"].items() if value]
    if source["self_repeat_collapsed"]:
        parts.append(f"repeated body collapsed {source['self_repeat_collapsed']:,}")
    return "<br>".join(_e(part) for part in parts) or "—"


def _health(report: Mapping[str, Any]) -> str:
    many = len(report["runs"]) > 1
    missing_limit = report["rules"]["max_missing_share"]
    headers = [("Source, health" + (" (latest run)" if many else "") + " and why", "")]
    if many:
        headers.append(('<span title="one square per run, oldest first">History</span>', ""))
    headers += [("Pages<br>fetched", "num"), ("Failed<br>requests", "num"), ("Articles<br>extracted", "num"),
                ("Stored", "num"), ("Not stored, why", ""), ("Extraction<br>failures", "num"),
                ("Median<br>words", "num")]  # fmt: skip
    headers += [(f"With<br>{label}", "num") for label in FIELDS]
    rows = []
    for source in report["sources"]:
        reasons = "".join(f'<li class="{_e(r["level"])}">{_e(r["text"])}</li>' for r in source["reasons"])
        cells = [
            f'<td class="source"><span class="site">{_e(source["site"])}</span> {_badge(source["verdict"])}'
            f'{f"<ul class=reasons>{reasons}</ul>" if reasons else ""}</td>'
        ]
        if many:
            runs = report["runs"]
            squares = "".join(f'<i class="{_e(v or "")}" title="{_e(runs[i]["run_id"])}: {_e(v or "not crawled")}"></i>'
                              for i, v in enumerate(source["history"]))  # fmt: skip
            cells.append(f'<td class="history">{squares}</td>')
        failed = ", ".join(f"{key}: {value}" for key, value in source["failed_by_reason"].items())
        cells += [
            f'<td class="num">{_n(source["pages_fetched"])}</td>',
            f'<td class="num" title="{_e(failed)}">{_n(source["failed_requests"])}</td>',
            f'<td class="num">{_n(source["articles_extracted"])}</td>',
            f'<td class="num"><b>{_n(source["stored"])}</b></td>',
            f'<td class="drops">{_drops_cell(source)}</td>',
            f'<td class="num">{_n(source["extraction_failures"])}</td>',
            f'<td class="num">{_n(source["median_words"])}</td>',
        ]
        for label, share in source["fields"].items():
            low = label in REQUIRED_FIELDS and share is not None and 1 - share >= missing_limit
            cells.append(f'<td class="num{" low" if low else ""}">{_pct(share)}</td>')
        rows.append(f'<tr class="{_e(source["verdict"])}">{"".join(cells)}</tr>')
    legend = (
        '<div class="legend"><span>' + _badge("ok") + " the source answers and its articles are extracted</span>"
        "<span>" + _badge("warning") + " it works, but part of its data is degraded (failed requests, missing "
        "dates or titles…)</span><span>" + _badge("unhealthy") + " it is broken and needs a fix: nothing fetched, "
        "most requests failing, or pages fetched but no article found</span>"
        + ("<span><b>History</b>: one square per run, oldest first</span>" if many else "")
        + "</div>"
    )
    return (
        '<section id="health"><h2>Source health</h2><p class="hint">One row per source of the seeds file, worst '
        "first. <b>Stored</b> articles are those kept after the topic, date and duplicate checks; "
        "<b>With title/author/date/language</b> is the share of stored articles that have it.</p>"
        f"{legend}{_table(headers, rows) if rows else '<p class=muted>No source.</p>'}</section>"
    )


def _when(published: str | None) -> str | None:
    """A record's date as people read it: the day, and the time and offset when known (2025-02-10 08:00 +01:00)."""
    if not published or len(published) <= 10:
        return published
    offset = published[19:].replace("+00:00", "Z")
    return f"{published[:10]} {published[11:16]}" + (f" {offset}" if offset else "")


def _timeline_svg(coverage: Mapping[str, Any]) -> str:
    """Rows are outlets (first to publish on top), columns are publication dates; a dot per outlet and date."""
    timeline, outlets = coverage["timeline"], coverage["outlets"]
    if not outlets:
        return '<p class="muted">No article stored: nothing to place on a timeline.</p>'
    bins, unit, cells = timeline["bins"], timeline["unit"], timeline["cells"]
    rows = {row["site"]: index for index, row in enumerate(outlets)}
    height = _TOP + len(rows) * _ROW + 8
    undated_x = _LEFT + _PLOT + _UNDATED * 0.6
    width = _LEFT + _PLOT + (_UNDATED if timeline["undated"] else 40)
    biggest = max([cell["count"] for cell in cells] + list(timeline["undated"].values()) + [1])

    def x(index: int) -> float:
        return _LEFT + (index + 0.5) * _PLOT / max(bins, 1)

    def dot(cx: float, cy: float, count: int, tip: str, cls: str) -> str:
        radius = 4 + 8 * math.sqrt(count / biggest)
        label = f'<text x="{cx:.1f}" y="{cy + 4:.1f}" class="n">{count}</text>' if count > 1 else ""
        return f'<g class="{cls}"><circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius:.1f}"/>{label}<title>{_e(tip)}</title></g>'

    parts = [f'<rect x="{_LEFT}" y="{_TOP - 6}" width="{_PLOT}" height="{len(rows) * _ROW + 6}" class="plot"/>']
    for site, index in rows.items():
        y = _TOP + index * _ROW + _ROW / 2
        if index % 2:
            parts.append(f'<rect x="0" y="{y - _ROW / 2:.1f}" width="{width}" height="{_ROW}" class="band"/>')
        parts.append(f'<text x="{_LEFT - 10}" y="{y + 4:.1f}" class="row">{_e(_clip(site, 22))}</text>')
    ticks = sorted({round(i * (bins - 1) / 5) for i in range(6)}) if bins > 1 else [0] if bins else []
    fmt = {"day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[unit]
    for tick in ticks:
        label = bin_date(timeline["start"], unit, tick).strftime(fmt)
        parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{_TOP - 6}" y2="{height - 8}" class="grid"/>'
                     f'<text x="{x(tick):.1f}" y="{_TOP - 12}" class="tick">{label}</text>')  # fmt: skip
    if timeline["undated"]:
        parts.append(f'<text x="{undated_x:.1f}" y="{_TOP - 12}" class="tick">no date</text>')
    for cell in cells:
        y = _TOP + rows[cell["site"]] * _ROW + _ROW / 2
        heads = "".join(f"\n• {_clip(title, 90)}" for title in cell["titles"])
        extra = cell["count"] - len(cell["titles"])
        tip = (f"{cell['site']}, {unit} of {cell['start']}: {plural(cell['count'], 'article')}{heads}"
               + (f"\n… and {extra} more" if extra > 0 else ""))  # fmt: skip
        parts.append(dot(x(cell["bin"]), y, cell["count"], tip, "dot"))
    for site, count in timeline["undated"].items():
        y = _TOP + rows[site] * _ROW + _ROW / 2
        parts.append(dot(undated_x, y, count, f"{site}: {plural(count, 'article')} with no date", "dot undated"))
    style = (
        "<style>.plot{fill:#fbfcfd;stroke:#d8dee4}.band{fill:#f3f5f7;opacity:.6}.grid{stroke:#d8dee4;stroke-dasharray:3 3}"
        ".row{text-anchor:end;font-size:12px;font-weight:600;fill:#1f2328}.tick{text-anchor:middle;font-size:11px;"
        "fill:#5b6470}.dot circle{fill:#2f6fde;fill-opacity:.85;stroke:#fff;stroke-width:1.5}.dot.undated circle"
        "{fill:#8c959f}.n{text-anchor:middle;font-size:10px;font-weight:700;fill:#fff;pointer-events:none}</style>"
    )
    return (
        f'<svg id="timeline" role="img" aria-label="Stored articles by outlet and publication date" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f"{style}{''.join(parts)}</svg>"
    )


def _coverage(report: Mapping[str, Any]) -> str:
    coverage = report["coverage"]
    unit = coverage["timeline"]["unit"]
    legend = (
        f'<div class="legend"><span><svg width="12" height="12"><circle cx="6" cy="6" r="5" fill="#2f6fde"/></svg> '
        f"articles an outlet published that {unit} (bigger dot, more articles; the number is the count)</span>"
        '<span><svg width="12" height="12"><circle cx="6" cy="6" r="5" fill="#8c959f"/></svg> articles with no '
        "publication date</span><span>Hover a dot for its headlines.</span></div>"
    )
    outlets = [
        f'<tr><td class="site">{_e(row["site"])}</td><td class="num">{_n(row["articles"])}</td>'
        f'<td class="num">{_e(_when(row["first"]) or "—")}</td><td class="num">{_e(_when(row["last"]) or "—")}</td>'
        f'<td>{_link(row["first_url"], _clip(row["first_title"] or row["first_url"], 140))}</td></tr>'
        for row in coverage["outlets"]
    ]
    articles = coverage["articles"]
    article_rows = [
        f'<tr><td class="num">{_e(_when(a["published"]) or "undated")}</td><td class="site">{_e(a["site"])}</td>'
        f'<td>{_link(a["url"], _clip(a["title"] or a["url"], 160))}<div class="url">{_e(_clip(a["url"], 160))}</div></td>'
        f'<td class="num">{_n(a["words"])}</td><td class="num">{_n(a["copies"])}</td></tr>'
        for a in articles["items"]
    ]
    return (
        '<section id="coverage"><h2>Story coverage</h2><p class="hint">Who published on the story, and when: each '
        "stored article by outlet and publication date. Outlets are ordered by their first article.</p>"
        f"{legend}{_timeline_svg(coverage)}"
        "<h3>Who covered it</h3>"
        + _table([("Outlet", ""), ("Articles", "num"), ("First published", "num"), ("Latest", "num"),
                  ("First headline", "")], outlets)  # fmt: skip
        + f"<h3>Stored articles, newest first ({_n(articles['total'])})</h3>"
        + _table([("Published", "num"), ("Outlet", ""), ("Headline", ""), ("Words", "num"),
                  ("Copies dropped", "num")], article_rows)  # fmt: skip
        + _more(articles["omitted"], "article", "every record is in the run's part-*.jsonl.gz files")
        + "</section>"
    )


def _similarity(copy: Mapping[str, Any]) -> str:
    return "—" if copy["similarity"] is None else f"{copy['similarity']:.0%}"


def _duplicates(report: Mapping[str, Any]) -> str:
    copying, clusters = report["copying"], report["clusters"]
    pair_rows = [
        f'<tr><td class="site">{_e(p["copier"])}</td><td class="site">{_e(p["original"])}</td>'
        f'<td class="num">{_n(p["copies"])}</td><td class="muted">'
        f'{"its own article under another URL" if p["copier"] == p["original"] else "republished another outlet"}'
        "</td></tr>"
        for p in copying["items"]
    ]
    cards = []
    for cluster in clusters["items"]:
        kept, copies = cluster["kept"], cluster["copies"]
        when = "stored in an earlier run" if kept["earlier_run"] else _e(_when(kept["published"]) or "undated")
        copy_rows = [
            f'<tr><td class="site">{_e(c["site"])}</td><td class="url">{_link(c["url"], c["url"])}</td>'
            f'<td class="num">{_similarity(c)}</td><td>{_e(_COPY_REASONS.get(c["reason"], c["reason"]))}</td></tr>'
            for c in copies["items"]
        ]
        cards.append(
            f'<div class="cluster"><div class="kept"><div class="label">Kept</div><div class="site">{_e(kept["site"])}'
            f' <span class="muted">· {when}</span></div><div>{_link(kept["url"], _clip(kept["title"] or kept["url"], 160))}'
            f'</div><div class="url">{_e(_clip(kept["url"], 200))}</div></div><div class="copies">'
            f'<div class="label">{plural(copies["total"], "copy")} dropped</div>'
            + _table([("Outlet", ""), ("URL", ""), ("Similarity", "num"), ("Why dropped", "")], copy_rows)
            + _more(copies["omitted"], "copy", "see the run's duplicates-*.jsonl.gz parts")
            + "</div></div>"
        )
    if not cards:
        body = '<p class="muted">No copy was dropped.</p>'
    else:
        body = (
            "<h3>Who copied whom</h3>"
            + _table([("Copying outlet", ""), ("Original outlet", ""), ("Copies", "num"), ("", "")], pair_rows)
            + _more(copying["omitted"], "pair", "see the clusters below")
            + f"<h3>Duplicate clusters ({_n(clusters['total'])}), most copied first</h3>"
            + "".join(cards)
            + _more(clusters["omitted"], "cluster", "every copy is in the runs' duplicates-*.jsonl.gz parts")
        )
    return (
        '<section id="duplicates"><h2>Duplicates</h2><p class="hint">Each kept article (the earliest published, '
        "on its publisher's own URL) with the copies dropped for it. <b>Similarity</b> is the share of 5-word "
        "sequences the two texts have in common (100% for an identical text).</p>"
        f"{body}</section>"
    )


def _runs(report: Mapping[str, Any]) -> str:
    rows = []
    for run in reversed(report["runs"]):
        sources = run["sources"]
        problems = "".join(f'<li class="{_e(r["level"])}">{_e(r["text"])}</li>' for r in run["reasons"])
        rows.append(
            f'<tr class="{_e(run["verdict"])}"><td class="num">{_time(run["started_at"])}</td>'
            f'<td class="url">{_e(run["prefix"])}</td><td>{_e(run["finish_reason"])}</td>'
            f'<td class="num">{_n(run["pages_fetched"])}</td><td class="num">{_n(run["stored"])}</td>'
            f'<td class="num">{_n(run["copies_dropped"])}</td><td>{_badge(run["verdict"])}</td>'
            f'<td class="muted">{sources["unhealthy"]} unhealthy, {sources["warning"]} warning, {sources["ok"]} ok'
            f'{f"<ul class=reasons>{problems}</ul>" if problems else ""}</td></tr>'
        )
    return (
        '<section id="runs"><h2>Runs</h2><p class="hint">The crawl runs this report covers, newest first, each '
        "stored under its own prefix with a manifest, parts and a duplicates log.</p>"
        + _table([("Started", "num"), ("Stored under", ""), ("Ended", ""), ("Pages fetched", "num"),
                  ("Stored", "num"), ("Copies dropped", "num"), ("Health", ""), ("Sources", "")], rows)  # fmt: skip
        + "</section>"
    )


def render_html(report: Mapping[str, Any]) -> str:
    """The whole page: verdict, totals, source health, story coverage, duplicates, runs."""
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}"><meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Crawl report: {_e(report['crawl'])} ({_VERDICT_LABELS[report['verdict']].lower()})</title>"
        f"<style>{_CSS}</style></head><body><main>"
        + _header(report)
        + _totals(report)
        + _health(report)
        + _coverage(report)
        + _duplicates(report)
        + _runs(report)
        + f"<footer>Generated {_e(report['generated_at'])} by newsdedup ({_e(report['format'])})</footer>"
        "</main></body></html>\n"
    )

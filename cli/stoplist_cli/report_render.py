"""The report (``stoplist.report.Report``) as a person or a program reads it: one self-contained HTML page (inline
CSS and SVG charts, no script, nothing fetched, readable on a phone), CSV rows, and text for the terminal.

French by default, English with ``lang="en"``: every word of the page comes from ``TEXTS``.
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from stoplist.report import Day, HonourStats, Report

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Rapport des oppositions SMS (STOP)",
        "period": "Période du {start} au {end} (jours UTC)",
        "generated": "Établi le {at}",
        "opt_outs": "Oppositions",
        "median": "Délai médian",
        "p99": "Délai p99",
        "max": "Délai maximal",
        "erasures": "Effacements",
        "by_door": "Oppositions par canal",
        "door": "Canal",
        "count": "Nombre",
        "door_queue": "File d'attente (systèmes internes)",
        "door_bus": "Bus d'événements",
        "door_sms-reply": "Réponse SMS « STOP »",
        "door_link": "Lien de désinscription",
        "door_import": "Import de fichier",
        "door_provider": "Numéro court de SMS Partner",
        "honour": "Délai de prise en compte",
        "honour_note": (
            "Du moment où l'opposition compte (sa date, ou sa réception) à la confirmation de SMS Partner. "
            "{measured} oppositions mesurées ; {unmeasured} sans mesure (enregistrées avant que le délai ne soit "
            "conservé, ou sans appel au fournisseur)."
        ),
        "statistic": "Mesure",
        "value": "Valeur",
        "p90": "p90",
        "per_day": "Jour par jour",
        "chart_opt_outs": "Oppositions par jour",
        "chart_honour": "Délai de prise en compte par jour (médiane et maximum, échelle logarithmique)",
        "legend_median": "médiane",
        "legend_max": "maximum",
        "slowest": "Les dix oppositions les plus lentes",
        "number": "Numéro (masqué)",
        "when": "Date",
        "delay": "Délai",
        "cause": "Cause connue",
        "none": "aucune",
        "cause_retried": "reçue {n} fois (nouvelles tentatives)",
        "cause_late_arrival": "arrivée {n} s après les faits",
        "opt_ins": "Réinscriptions par source du consentement",
        "consent_source": "Source du consentement",
        "superseded": "Événements supplantés",
        "superseded_note": (
            "Une désinscription plus ancienne qu'un consentement déjà appliqué est gardée dans l'historique sans "
            "rebloquer le numéro ; un consentement plus ancien qu'une désinscription connue est refusé et reste "
            "14 jours en file d'erreurs."
        ),
        "reason": "Motif",
        "dead_letters": "Messages en file d'erreurs à ce jour, par motif",
        "empty": "Aucun.",
        "footer": (
            "Numéros masqués. Jours en UTC. Percentiles au rang le plus proche. "
            "Source : historique des changements (index par jour) et files d'erreurs de la pile."
        ),
    },
    "en": {
        "title": "SMS opt-out (STOP) report",
        "period": "Period {start} to {end} (UTC days)",
        "generated": "Generated {at}",
        "opt_outs": "Opt-outs",
        "median": "Median time",
        "p99": "p99 time",
        "max": "Longest time",
        "erasures": "Erasures",
        "by_door": "Opt-outs by door",
        "door": "Door",
        "count": "Count",
        "door_queue": "Queue (in-house systems)",
        "door_bus": "Event bus",
        "door_sms-reply": "SMS reply \u201cSTOP\u201d",
        "door_link": "Unsubscribe link",
        "door_import": "File import",
        "door_provider": "SMS Partner's short code",
        "honour": "Time to honour",
        "honour_note": (
            "From when the opt-out counts (its date, or its receipt) to SMS Partner's confirmation. "
            "{measured} opt-outs measured; {unmeasured} without a measure (recorded before it was kept, or "
            "without a provider call)."
        ),
        "statistic": "Statistic",
        "value": "Value",
        "p90": "p90",
        "per_day": "Day by day",
        "chart_opt_outs": "Opt-outs per day",
        "chart_honour": "Time to honour per day (median and maximum, logarithmic scale)",
        "legend_median": "median",
        "legend_max": "maximum",
        "slowest": "The ten slowest opt-outs",
        "number": "Number (masked)",
        "when": "Date",
        "delay": "Time",
        "cause": "Known cause",
        "none": "none",
        "cause_retried": "received {n} times (retried)",
        "cause_late_arrival": "reached the stack {n} s after it happened",
        "opt_ins": "Re-opt-ins by consent source",
        "consent_source": "Consent source",
        "superseded": "Superseded events",
        "superseded_note": (
            "An opt-out older than a consent already applied is kept in the history without blocking the number "
            "again; a consent older than a known opt-out is refused and stays 14 days in a dead-letter queue."
        ),
        "reason": "Reason",
        "dead_letters": "Dead letters waiting now, by reason",
        "empty": "None.",
        "footer": (
            "Numbers masked. Days in UTC. Nearest-rank percentiles. "
            "Source: the stack's change history (index by day) and dead-letter queues."
        ),
    },
}

_CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dee7; --accent: #1f5fbf; --warn: #c0392b; --bg: #f6f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  background: var(--bg); }
main { max-width: 960px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.5rem; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.15rem; margin: 0 0 0.75rem; }
p.meta { color: var(--muted); margin: 0 0 1rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px; margin: 0 0 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin: 0 0 16px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
.card .label { color: var(--muted); font-size: 0.85rem; }
.card .figure { font-size: 1.35rem; font-weight: 600; }
table { width: 100%; border-collapse: collapse; font-size: 0.95rem; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { overflow-x: auto; }
svg { width: 100%; height: auto; display: block; }
svg text { font-size: 13px; fill: var(--muted); }
h3 { font-size: 1rem; margin: 1rem 0 0.5rem; }
.legend { color: var(--muted); font-size: 0.85rem; margin: 4px 0 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px;
  margin: 0 4px 0 10px; }
p.note, footer { color: var(--muted); font-size: 0.85rem; }
@media (max-width: 600px) {
  main { padding: 10px; }
  th, td { padding: 5px 4px; font-size: 0.9rem; }
  .card .figure { font-size: 1.2rem; }
  svg text { font-size: 24px; }
  /* Wide tables become one card a row, each cell under its column's name. */
  table.stack thead { display: none; }
  table.stack tr { display: block; border-bottom: 1px solid var(--line); padding: 6px 0; }
  table.stack td { display: flex; justify-content: space-between; gap: 12px; border: 0; padding: 2px 4px;
    text-align: right; }
  table.stack td::before { content: attr(data-label); color: var(--muted); text-align: left; }
}
"""


def duration(seconds: float | None, lang: str) -> str:
    """``0,8 s``, ``42 s``, ``3 min 20 s``, ``2 h 05 min``: a person's units, with the language's decimal mark."""
    if seconds is None:
        return "\u2013"  # an en dash: no value
    if seconds < 10:
        text = f"{seconds:.1f} s"
        return text.replace(".", ",") if lang == "fr" else text
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return (
        f"{whole // 86400} d {whole % 86400 // 3600:02d} h"
        if lang == "en"
        else f"{whole // 86400} j {whole % 86400 // 3600:02d} h"
    )


def _rows(
    headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (), stack: bool = False
) -> str:
    """A table; ``stack``: on a phone each row becomes a card, each cell under its column's name."""
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{html.escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(
            f'<td data-label="{html.escape(headers[i])}"{" class=num" if i in numeric else ""}>{html.escape(cell)}</td>'
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    kind = ' class="stack"' if stack else ""
    return f'<div class="scroll"><table{kind}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _tick_days(days: Sequence[Day]) -> set[int]:
    step = max(1, round(len(days) / 6))
    return {index for index in range(len(days)) if index % step == 0} | {len(days) - 1}


def _bar_chart(days: Sequence[Day], label: str) -> str:
    width, height, left, bottom, top = 640, 240, 64, 36, 16  # the right margin: room for the last date
    peak = max((day.opt_outs for day in days), default=0) or 1
    plot_w, plot_h = width - left - 32, height - bottom - top
    slot = plot_w / max(1, len(days))
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(label)}">']
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{width - 32}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dee7"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">')
        parts.append(f"{round(peak * fraction)}</text>")
    ticks = _tick_days(days)
    for index, day in enumerate(days):
        bar_h = plot_h * day.opt_outs / peak
        x = left + index * slot + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{slot * 0.7:.1f}" height="{bar_h:.1f}" '
            f'fill="#1f5fbf"><title>{day.day}: {day.opt_outs}</title></rect>'
        )
        if index in ticks:
            parts.append(
                f'<text x="{left + (index + 0.5) * slot:.1f}" y="{height - 8}" text-anchor="middle">'
                f"{day.day[5:]}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


# Ticks of the time-to-honour chart's logarithmic axis, and their short labels.
_LOG_TICKS = ((1, "1 s"), (10, "10 s"), (60, "1 min"), (600, "10 min"), (3600, "1 h"), (21600, "6 h"), (86400, "24 h"))


def _line_chart(days: Sequence[Day], label: str) -> str:
    """Median and maximum per day on a logarithmic axis: a normal day (seconds) and an outage (an hour) both
    show, as they would not on a linear one."""
    width, height, left, bottom, top = 640, 240, 96, 36, 16
    series = {"#1f5fbf": [day.honour.median for day in days], "#c0392b": [day.honour.max for day in days]}
    values = [value for values in series.values() for value in values if value is not None]
    low = min([1.0, *values]) if values else 1.0
    high = max([60.0, *values]) * 1.5  # headroom above the highest point
    floor, span = math.log10(max(low, 0.1)), math.log10(high) - math.log10(max(low, 0.1))
    plot_w, plot_h = width - left - 32, height - bottom - top
    slot = plot_w / max(1, len(days))

    def y_of(seconds: float) -> float:
        return top + plot_h * (1 - (math.log10(max(seconds, 0.1)) - floor) / span)

    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(label)}">']
    for seconds, text in _LOG_TICKS:
        if low <= seconds <= high:
            y = y_of(seconds)
            parts.append(f'<line x1="{left}" x2="{width - 32}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dee7"/>')
            parts.append(f'<text x="{left - 8}" y="{y + 5:.1f}" text-anchor="end">{text}</text>')
    for colour, line in series.items():
        points = [(left + (i + 0.5) * slot, y_of(value)) for i, value in enumerate(line) if value is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points)
    for index in _tick_days(days):
        parts.append(
            f'<text x="{left + (index + 0.5) * slot:.1f}" y="{height - 8}" text-anchor="middle">'
            f"{days[index].day[5:]}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _causes(causes: Sequence[tuple[str, int]], t: dict[str, str]) -> str:
    return "; ".join(t[f"cause_{cause}"].format(n=figure) for cause, figure in causes) or t["none"]


def _stat_rows(stats: HonourStats, t: dict[str, str], lang: str) -> list[list[str]]:
    return [
        [t["median"], duration(stats.median, lang)],
        [t["p90"], duration(stats.p90, lang)],
        [t["p99"], duration(stats.p99, lang)],
        [t["max"], duration(stats.max, lang)],
    ]


def to_html(report: Report, generated_at: str, lang: str = "fr") -> str:
    t = TEXTS[lang]
    esc = html.escape
    cards = [
        (t["opt_outs"], str(report.opt_outs)),
        (t["median"], duration(report.honour.median, lang)),
        (t["p99"], duration(report.honour.p99, lang)),
        (t["max"], duration(report.honour.max, lang)),
        (t["erasures"], str(report.erasures)),
    ]
    card_html = "".join(
        f'<div class="card"><div class="label">{esc(label)}</div><div class="figure">{esc(value)}</div></div>'
        for label, value in cards
    )
    doors = _rows([t["door"], t["count"]], [[t[f"door_{d}"], str(n)] for d, n in report.opt_outs_by_door.items()], (1,))
    slowest = (
        _rows(
            [t["number"], t["when"], t["door"], t["delay"], t["cause"]],
            [
                [
                    s.phone,
                    s.at[:19].replace("T", " "),
                    t[f"door_{s.door}"],
                    duration(s.seconds, lang),
                    _causes(s.causes, t),
                ]
                for s in report.slowest
            ],
            (3,),
            stack=True,
        )
        if report.slowest
        else f"<p>{esc(t['empty'])}</p>"
    )

    def counts(title: str, data: dict[str, int]) -> str:
        shown = {name: n for name, n in data.items() if n}
        return (
            _rows([title, t["count"]], [[k, str(v)] for k, v in shown.items()], (1,))
            if shown
            else f"<p>{esc(t['empty'])}</p>"
        )

    legend = (
        f'<p class="legend"><span class="swatch" style="background:#1f5fbf"></span>{esc(t["legend_median"])}'
        f'<span class="swatch" style="background:#c0392b"></span>{esc(t["legend_max"])}</p>'
    )
    note = t["honour_note"].format(measured=report.honour.count, unmeasured=report.not_measured)
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(t["title"])} {esc(report.start)} / {esc(report.end)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<h1>{esc(t["title"])}</h1>
<p class="meta">{esc(t["period"].format(start=report.start, end=report.end))}<br>
{esc(t["generated"].format(at=generated_at))}</p>
<div class="cards">{card_html}</div>
<section><h2>{esc(t["by_door"])}</h2>{doors}</section>
<section><h2>{esc(t["honour"])}</h2><p class="note">{esc(note)}</p>
{_rows([t["statistic"], t["value"]], _stat_rows(report.honour, t, lang), (1,))}</section>
<section><h2>{esc(t["per_day"])}</h2>
<h3>{esc(t["chart_opt_outs"])}</h3>{_bar_chart(report.days, t["chart_opt_outs"])}
<h3>{esc(t["chart_honour"])}</h3>{legend}{_line_chart(report.days, t["chart_honour"])}</section>
<section><h2>{esc(t["slowest"])}</h2>{slowest}</section>
<section><h2>{esc(t["opt_ins"])}</h2>{counts(t["consent_source"], report.opt_ins_by_consent_source)}</section>
<section><h2>{esc(t["superseded"])}</h2><p class="note">{esc(t["superseded_note"])}</p>
{counts(t["reason"], report.superseded)}</section>
<section><h2>{esc(t["dead_letters"])}</h2>{counts(t["reason"], report.dead_letters_by_reason)}</section>
<footer>{esc(t["footer"])}</footer>
</main>
</body>
</html>
"""


def to_csv(report: Report) -> str:
    """One row per figure: ``section,key,value`` (seconds as numbers), then one row per day and per slow opt-out."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "value"])
    writer.writerow(["period", "start", report.start])
    writer.writerow(["period", "end", report.end])
    writer.writerow(["opt_outs", "total", report.opt_outs])
    for door, n in report.opt_outs_by_door.items():
        writer.writerow(["opt_outs_by_door", door, n])
    for name, value in asdict(report.honour).items():
        writer.writerow(["honour_seconds", name, "" if value is None else value])
    writer.writerow(["honour_seconds", "not_measured", report.not_measured])
    for source, n in report.opt_ins_by_consent_source.items():
        writer.writerow(["opt_ins_by_consent_source", source, n])
    writer.writerow(["erasures", "total", report.erasures])
    for reason, n in report.superseded.items():
        writer.writerow(["superseded", reason, n])
    for reason, n in report.dead_letters_by_reason.items():
        writer.writerow(["dead_letters_by_reason", reason, n])
    for day in report.days:
        writer.writerow(["day_opt_outs", day.day, day.opt_outs])
        writer.writerow(["day_honour_median_seconds", day.day, "" if day.honour.median is None else day.honour.median])
        writer.writerow(["day_honour_max_seconds", day.day, "" if day.honour.max is None else day.honour.max])
    for slow in report.slowest:
        writer.writerow(["slowest", f"{slow.phone} {slow.at} {slow.door}", slow.seconds])
    return out.getvalue()


def to_text(report: Report, lang: str = "en") -> list[str]:
    t = TEXTS[lang]
    lines = [t["period"].format(start=report.start, end=report.end), f"{t['opt_outs']}: {report.opt_outs}"]
    lines += [f"  {t[f'door_{door}']}: {n}" for door, n in report.opt_outs_by_door.items()]
    lines.append(f"{t['honour']}: " + ", ".join(f"{k} {v}" for k, v in _stat_rows(report.honour, t, lang)))
    lines.append(f"{t['erasures']}: {report.erasures}")
    lines += [f"{t['superseded']}: {sum(report.superseded.values())}"]
    lines += [f"{t['dead_letters']}: {sum(report.dead_letters_by_reason.values())}"]
    return lines


def as_document(report: Report) -> dict[str, Any]:
    return asdict(report)

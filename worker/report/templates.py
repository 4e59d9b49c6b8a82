"""The report's one template: a self-contained page (inline CSS and SVG, no script, nothing
fetched). Kept as a string so an installed wheel can never lack it; rendered with
autoescaping on, and only the SVG built by ``timeline.py`` (itself escaped) is marked safe.
"""

from __future__ import annotations

CSS = """
:root { color-scheme: light; }
body { font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1f2933;
  margin: 0; background: #f5f7fa; font-size: 14px; line-height: 1.45; }
header { background: #243b53; color: #ffffff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #d9e2ec; }
nav { padding: 8px 32px; background: #ffffff; border-bottom: 1px solid #d9e2ec; }
nav a { margin-right: 18px; color: #2b6cb0; text-decoration: none; }
main { padding: 8px 32px 32px; }
section { background: #ffffff; border: 1px solid #d9e2ec; border-radius: 6px;
  padding: 12px 20px 16px; margin: 16px 0; }
h2 { font-size: 17px; margin: 4px 0 10px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 10px 5px 0; border-bottom: 1px solid #eef2f6;
  vertical-align: top; }
th { color: #52606d; font-weight: 600; font-size: 13px; }
td.n, th.n { text-align: right; }
td.nw { white-space: nowrap; }
.sev { font-weight: 600; text-transform: uppercase; font-size: 11px; letter-spacing: 0.03em;
  padding: 1px 6px; border-radius: 3px; color: #ffffff; }
.sev-critical { background: #c53030; }
.sev-major { background: #dd6b20; }
.sev-minor { background: #8795a1; }
.muted { color: #7b8794; }
.bar { background: #e4e7eb; border-radius: 3px; height: 12px; width: 280px; }
.bar span { display: block; height: 12px; border-radius: 3px; background: #2b6cb0; }
details summary { cursor: pointer; color: #2b6cb0; }
details.check { margin: 4px 0; }
details.check > summary { color: #1f2933; padding: 3px 0; }
details table { margin: 6px 0 8px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 0 0 10px; }
.legend span { display: inline-flex; align-items: center; gap: 6px; }
.swatch { width: 22px; height: 12px; border-radius: 2px; border: 1px solid; display: inline-block; }
.dot { width: 11px; height: 11px; border-radius: 50%; display: inline-block; }
.asof-key { width: 0; height: 14px; border-left: 2px dashed #1a202c; display: inline-block; }
figure { margin: 0 0 6px; }
svg.timeline { display: block; max-width: 100%; height: auto; }
svg .who { font-size: 13px; font-weight: 600; fill: #1f2933; }
svg .tick { font-size: 10px; fill: #7b8794; }
svg .band { font-size: 11px; fill: #52606d; }
svg .asof { font-size: 10px; fill: #1a202c; }
svg .axis { stroke: #9aa5b1; stroke-width: 1; }
code { font-size: 12px; background: #f0f4f8; padding: 0 3px; border-radius: 2px; }
"""

REPORT = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Study report{% if d.title %}: {{ d.title }}{% endif %}</title>
<style>{{ css }}</style>
</head>
<body>
<header>
<h1>Study report{% if d.title %}: {{ d.title }}{% endif %}</h1>
<p>As of {{ d.as_of.isoformat() }}{% if d.project_id is not none %} · REDCap project \
{{ d.project_id }}{% endif %} · {{ d.records_checked }} record{{ plural(d.records_checked) }} \
checked · generated {{ d.generated_at.strftime("%Y-%m-%d %H:%M UTC") }}</p>
</header>
<nav><a href="#checks">Checks ({{ checks|length }})</a><a href="#progress">Progress</a>\
<a href="#deviations">Deviations \
({{ d.deviations|length }})</a><a href="#queries">Open queries ({{ open_total }})</a>\
<a href="#visits">Visit windows ({{ d.timelines|length }})</a></nav>
<main>

<section id="checks">
<h2>Counts per check ({{ checks|length }})</h2>
{% if checks %}
<table>
<tr><th>check</th><th>severity</th><th>title</th><th class="n">deviations</th>
<th class="n">open queries</th><th class="n">records</th></tr>
{% for c in checks %}
<tr><td class="nw">{% if c.deviations %}<a href="#check-{{ c.rule }}">{{ c.rule }}</a>\
{% else %}{{ c.rule }}{% endif %}</td>
<td>{% if c.severity %}<span class="sev sev-{{ c.severity.value }}">{{ c.severity.value }}\
</span>{% else %}?{% endif %}</td>
<td>{{ c.title }}</td><td class="n">{{ c.deviations }}</td><td class="n">{{ c.open_queries }}</td>
<td class="n">{{ c.records }}</td></tr>
{% endfor %}
</table>
{% else %}
<p class="muted">No deviation and no open query as of {{ d.as_of.isoformat() }}.</p>
{% endif %}
</section>

<section id="progress">
<h2>Study progress</h2>
{% if d.progress %}
<table>
<tr><th>participants</th><th class="n">count</th><th></th></tr>
{% for label, count in d.progress %}
<tr><td>{{ label }}</td><td class="n">{{ count }}</td>
<td><div class="bar"><span style="width: {{ bar(count) }}%"></span></div></td></tr>
{% endfor %}
</table>
{% else %}
<p class="muted">The study's rules define no progress counts.</p>
{% endif %}
</section>

<section id="deviations">
<h2>Deviations ({{ d.deviations|length }})</h2>
{% if d.deviations %}
<p>{% for label, count in severity_counts %}{% if not loop.first %} · {% endif %}\
<span class="sev sev-{{ label }}">{{ label }}</span> {{ count }}{% endfor %}</p>
{% for g in groups %}
<details class="check" id="check-{{ g.rule }}"{% if open_groups %} open{% endif %}>
<summary><span class="sev sev-{{ g.severity.value }}">{{ g.severity.value }}</span> \
<strong>{{ g.rule }}</strong> {{ g.title }}: {{ g.rows|length }} \
deviation{{ plural(g.rows|length) }}, {{ g.open_queries }} with an open query</summary>
<table>
<tr><th>record</th>{% if sites %}<th>site</th>{% endif %}<th>event</th>
<th>form</th><th>field</th><th>query</th><th>open</th><th></th></tr>
{% for v in g.shown %}
<tr><td>{{ v.record }}</td>{% if sites %}<td>{{ v.site or "-" }}</td>{% endif %}\
<td>{{ v.event_label }}</td>\
<td>{{ v.form_label }}{% if v.instance is not none %} #{{ v.instance }}{% endif %}</td>\
<td><code>{{ v.field }}</code>\
{% if v.message %}<br><span class="muted">{{ v.message }}</span>{% endif %}</td>\
<td class="nw">{{ v.query }}</td><td class="nw">{{ days(v.days_open) }}</td>\
<td>{% if v.link %}<a href="{{ v.link }}">REDCap</a>{% endif %}</td></tr>
{% endfor %}
</table>
{% if g.more %}<p class="muted">… and {{ g.more }} more: <code>python -m worker check \
--format csv</code> lists every finding.</p>{% endif %}
</details>
{% endfor %}
{% else %}
<p class="muted">No deviation as of {{ d.as_of.isoformat() }}.</p>
{% endif %}
</section>

<section id="queries">
<h2>Open queries by record and age ({{ open_total }})</h2>
{% if d.queries %}
{% if listed|length < d.queries|length %}
<p>{{ listed|length }} of {{ d.queries|length }} records are listed: those with the oldest \
open queries first. <code>python -m worker check --format csv</code> lists every finding.</p>
{% endif %}
<table>
<tr><th>record</th>{% if sites %}<th>site</th>{% endif %}<th class="n">open</th>
<th class="n">deviations</th>
{% for label in buckets %}<th class="n">{{ label }}</th>{% endfor %}<th class="n">oldest</th>
<th>queries</th></tr>
{% for r in listed %}
<tr><td>{{ r.record }}</td>{% if sites %}<td>{{ r.site or "-" }}</td>{% endif %}
<td class="n">{{ r.queries|length }}</td>
<td class="n">{{ r.deviations }}</td>
{% for count in ages(r) %}<td class="n">{{ count or "" }}</td>{% endfor %}
<td class="n nw">{{ days(r.oldest_days) }}</td>
<td><details><summary>list</summary>
<table>
{% for q in r.queries %}
<tr><td><strong>{{ q.rule }}</strong></td><td>{{ q.kind.value if q.kind else "?" }}</td>
<td>{{ q.severity.value if q.severity else "?" }}</td><td>{{ q.event_label }}</td>
<td>{{ q.form_label }}{% if q.instance is not none %} #{{ q.instance }}{% endif %}</td>
<td><code>{{ q.field }}</code></td><td class="nw">{{ days(q.days_open) }}</td></tr>
{% endfor %}
</table>
</details></td></tr>
{% endfor %}
</table>
{% else %}
<p class="muted">No open query in the project's query form{% if not has_queries %} (there is \
none: the study's mapping names none, or the project lacks it){% endif %}.</p>
{% endif %}
</section>

<section id="visits">
<h2>Visit windows per {{ scheduled }} ({{ d.timelines|length }})</h2>
{% if d.timelines %}
<p class="muted">Days after {{ anchor }} on the axis; each window is a band numbered by its \
visit, each sample a dot.</p>
<div class="legend">
{% for colour, meaning in legend %}
<span><i class="swatch" style="background: {{ colour }}33; border-color: {{ colour }}"></i>\
<i class="dot" style="background: {{ colour }}"></i>{{ meaning }}</span>
{% endfor %}
<span><i class="asof-key"></i>report date</span>
</div>
{% if timelines|length < d.timelines|length %}
<p>{{ timelines|length }} of {{ d.timelines|length }} timelines are drawn: those with a \
missed, out-of-window or due visit first. <code>python -m worker visits</code> lists every \
participant's visits.</p>
{% endif %}
{% for t, svg in timelines %}
<figure>{{ svg }}</figure>
{% endfor %}
{% elif d.has_schedule %}
<p class="muted">No {{ scheduled }} yet.</p>
{% else %}
<p class="muted">The study's rules define no visit schedule.</p>
{% endif %}
</section>

{% if d.coverage %}
<section id="coverage">
<h2>Check coverage</h2>
<p class="muted">Participants each study check judged in this report, skipped (and why) or
could not evaluate.</p>
<table>
<tr><th>check</th><th>title</th><th>ran</th><th>errored</th><th>skipped</th></tr>
{% for rule, title, ran, errored, skipped in d.coverage %}
<tr><td>{{ rule }}</td><td>{{ title }}</td><td>{{ ran }}</td><td>{{ errored }}</td>
<td>{% for why, n in skipped.items() %}{{ n }} {{ why }}{% if not loop.last %}, {% endif %}\
{% else %}none{% endfor %}</td></tr>
{% endfor %}
</table>
</section>
{% endif %}

{% if d.failed_records or d.check_errors or d.degraded %}
<section id="problems">
<h2>Problems</h2>
{% if d.degraded %}<p><strong>Not a clean run:</strong></p><ul>{% for line in d.degraded %}\
<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
{% if d.failed_records %}<p>Progress or schedule could not be computed for \
{{ d.failed_records|length }} record{{ plural(d.failed_records|length) }}: \
{{ d.failed_records|join(", ") }}. The worker's log names the error.</p>{% endif %}
{% if d.check_errors %}<p>{{ d.check_errors }} check evaluation{{ plural(d.check_errors) }} \
failed; the worker's log names the checks.</p>{% endif %}
</section>
{% endif %}
</main>
<footer class="muted" style="padding: 0 32px 24px">Generated by the REDCap worker. It names \
records, events, forms, fields and checks, with day counts; no calendar date or free text of \
a record{% if values %}, except the checks' messages (values allowed by the settings)\
{% endif %}.</footer>
</body>
</html>
"""

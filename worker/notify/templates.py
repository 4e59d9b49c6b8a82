"""The summary's twin templates, plain text and HTML, fed by one :class:`Summary`.

They live here as strings rather than as package data files, so an installed wheel can never
lack them. The HTML one is rendered with autoescaping on (see ``render.py``): every value
is escaped; nothing in either template marks a value as safe.
"""

from __future__ import annotations

TEXT = """\
{% set s = summary %}
{% if s.degraded %}
NOT A CLEAN RUN: some checks did not judge every participant, so the counts and progress \
below may be incomplete.
{% for line in s.degraded %}
  - {{ line }}
{% endfor %}

{% endif %}
{% if s.is_critical %}
{{ s.new|length }} new critical protocol deviation{{ plural(s.new|length) }}{{ for_site }}: \
they need attention now. The next digest lists everything still open.
{% else %}
{{ s.new|length }} protocol deviation{{ plural(s.new|length) }} raised or reopened since \
the last digest{{ for_site }}; {{ s.open|length }} open in all.
{% endif %}
{% if not s.complete and not s.is_critical %}
This run checked only some records: counts cover those records.
{% endif %}
{% if s.truncated %}

This summary is long: each list shows its first {{ s.limit }} rows, and the counts per \
check cover everything. {{ pointer }}
{% endif %}

COUNTS ({{ s.scope }})
  {{ "%-10s"|format("severity") }} {{ "%16s"|format("new deviations") }} \
{{ "%16s"|format("open deviations") }} {{ "%13s"|format("open queries") }}
{% for c in s.counts %}
  {{ "%-10s"|format(c.severity.value) }} {{ "%16d"|format(c.new) }} \
{{ "%16d"|format(c.open_deviations) }} {{ "%13d"|format(c.open_queries) }}
{% endfor %}
{% if s.truncated %}

COUNTS PER CHECK ({{ s.scope }})
  {{ "%-14s"|format("check") }} {{ "%-9s"|format("severity") }} {{ "%6s"|format("new") }} \
{{ "%6s"|format("open") }}  title
{% for c in s.by_check %}
  {{ "%-14s"|format(c.rule) }} {{ "%-9s"|format(c.severity.value) }} {{ "%6d"|format(c.new) }} \
{{ "%6d"|format(c.open) }}  {{ c.title }}
{% endfor %}
{% endif %}

NEW DEVIATIONS ({{ s.new|length }})
{% for i in s.first(s.new) %}
{{ item_text(i) }}
{% endfor %}
{% if s.more(s.new) %}
  ... and {{ s.more(s.new) }} more
{% endif %}
{% if not s.is_critical %}

STILL OPEN ({{ s.open|length }})
{% for i in s.first(s.open) %}
  - {{ place(i) }}: {{ i.rule }} ({{ i.severity.value }}), {{ age(i) }}
{% else %}
  none
{% endfor %}
{% if s.more(s.open) %}
  ... and {{ s.more(s.open) }} more
{% endif %}
{% endif %}

OPEN QUERIES PER RECORD
{% if s.records %}
  {{ "%-10s"|format("record") }} {% if s.has_sites %}{{ "%-12s"|format("site") }} {% endif %}\
{{ "%10s"|format("deviations") }} {{ "%8s"|format("queries") }}  oldest
{% for r in s.first(s.records) %}
  {{ "%-10s"|format(r.record) }} \
{% if s.has_sites %}{{ "%-12s"|format(r.site or "-") }} {% endif %}\
{{ "%10d"|format(r.deviations) }} {{ "%8d"|format(r.queries) }}  {{ days_text(r.oldest_days) }}
{% endfor %}
{% if s.more(s.records) %}
  ... and {{ s.more(s.records) }} more records
{% endif %}
{% else %}
  none
{% endif %}
{% if not s.is_critical %}

VISITS OVERDUE ({{ s.overdue|length }}), day numbers after {{ anchor }}
{% for v in s.first(s.overdue) %}
  - {{ visit_text(v) }}
{% else %}
  none
{% endfor %}
{% if s.more(s.overdue) %}
  ... and {{ s.more(s.overdue) }} more
{% endif %}

VISITS DUE NOW OR OPENING WITHIN {{ horizon }} ({{ s.due_soon|length }})
{% for v in s.first(s.due_soon) %}
  - {{ visit_text(v) }}
{% else %}
  none
{% endfor %}
{% if s.more(s.due_soon) %}
  ... and {{ s.more(s.due_soon) }} more
{% endif %}

STUDY PROGRESS (participants{{ for_site }})
{% for label, count in s.progress %}
  {{ "%-50s"|format(label) }} {{ "%5d"|format(count) }}
{% else %}
  the study's rules define no progress counts
{% endfor %}
{% endif %}
{% if s.resolved_before %}

{{ s.resolved_before }} deviation{{ plural(s.resolved_before) }} raised since the last digest \
{{ "was" if s.resolved_before == 1 else "were" }} resolved before it went out.
{% endif %}
{% if s.check_errors %}

{{ s.check_errors }} check evaluation{{ plural(s.check_errors) }} failed in this run: \
their earlier queries stand; the worker's log names the checks.
{% endif %}

--
{{ footer }}
"""

HTML = """\
{% macro item_table(items, detailed) %}
{% if items %}
<table>
<tr><th>record</th>{% if summary.has_sites %}<th>site</th>{% endif %}<th>event</th><th>form</th>
<th>field</th><th>check</th><th>severity</th><th>open</th><th></th></tr>
{% for i in summary.first(items) %}
<tr><td>{{ i.record }}</td>{% if summary.has_sites %}<td>{{ i.site or "-" }}</td>{% endif %}
<td>{{ i.event_label }}</td>
<td>{{ i.form_label }}{% if i.instance is not none %} #{{ i.instance }}{% endif %}</td>
<td><code>{{ i.field }}</code></td>
<td><strong>{{ i.rule }}</strong> {{ i.title }}{% if i.reopened %} <em>(reopened)</em>{% endif %}
{% if detailed and i.message %}<br><span class="muted">{{ i.message }}</span>{% endif %}</td>
<td class="sev-{{ i.severity.value }}">{{ i.severity.value }}</td>
<td class="nw">{{ age(i) }}</td>
<td class="nw">{% if i.link %}<a href="{{ i.link }}">open in REDCap</a>{% endif %}</td></tr>
{% endfor %}
</table>
{{ more(items) }}
{% else %}<p class="muted">none</p>{% endif %}
{% endmacro %}

{% macro visit_table(visits) %}
{% if visits %}
<table>
<tr><th>record</th>{% if summary.has_sites %}<th>site</th>{% endif %}<th>visit</th><th>event</th>
<th>status</th><th>window (days after {{ anchor }})</th></tr>
{% for v in summary.first(visits) %}
<tr><td>{{ v.record }}</td>{% if summary.has_sites %}<td>{{ v.site or "-" }}</td>{% endif %}
<td>{{ v.visit }}</td>
<td>{{ v.event_label }}</td><td>{{ v.note }}</td><td>{{ v.window[0] }}–{{ v.window[1] }}</td></tr>
{% endfor %}
</table>
{{ more(visits) }}
{% else %}<p class="muted">none</p>{% endif %}
{% endmacro %}

{% macro more(rows, what="") %}
{% if summary.more(rows) %}<p class="muted">… and {{ summary.more(rows) }} more{{ what }}</p>\
{% endif %}
{% endmacro %}
{%- set s = summary -%}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ s.subject }}</title>
<style>
body { font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1f2933;
  font-size: 14px; line-height: 1.4; }
h1 { font-size: 18px; margin: 0 0 8px; }
h2 { font-size: 15px; margin: 20px 0 6px; border-bottom: 1px solid #d9e2ec; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: 3px 10px 3px 0; vertical-align: top; }
th { font-weight: 600; color: #52606d; }
td.n { text-align: right; }
td.nw { white-space: nowrap; }
.sev-critical { color: #b42318; font-weight: 700; }
.sev-major { color: #b54708; font-weight: 600; }
.sev-minor { color: #52606d; }
.muted { color: #7b8794; }
.alert { background: #fef3f2; border-left: 4px solid #b42318; padding: 8px 12px; }
</style>
</head>
<body>
{% if s.degraded %}
<div class="alert"><strong>Not a clean run:</strong> some checks did not judge every
participant, so the counts and progress below may be incomplete.
<ul>{% for line in s.degraded %}<li>{{ line }}</li>{% endfor %}</ul></div>
{% endif %}
{% if s.is_critical %}
<h1 class="alert">{{ s.new|length }} new critical protocol deviation{{ plural(s.new|length) }}\
{{ for_site }}</h1>
<p>They need attention now. The next digest lists everything still open.</p>
{% else %}
<h1>Deviation digest{{ for_site }}: {{ s.new|length }} new, {{ s.open|length }} open</h1>
<p>{{ s.new|length }} protocol deviation{{ plural(s.new|length) }} raised or reopened since
the last digest; {{ s.open|length }} open in all.</p>
{% if not s.complete %}<p class="muted">This run checked only some records: counts cover
those records.</p>{% endif %}
{% endif %}
{% if s.truncated %}
<p class="alert">This summary is long: each list shows its first {{ s.limit }} rows, and the
counts per check cover everything. {% if report_url %}The study report has the lists by check:
<a href="{{ report_url }}">{{ report_url }}</a>.{% else %}{{ pointer }}{% endif %}</p>
{% endif %}

<h2>Counts ({{ s.scope }})</h2>
<table>
<tr><th>severity</th><th>new deviations</th><th>open deviations</th><th>open queries</th></tr>
{% for c in s.counts %}
<tr><td class="sev-{{ c.severity.value }}">{{ c.severity.value }}</td><td class="n">{{ c.new }}</td>
<td class="n">{{ c.open_deviations }}</td><td class="n">{{ c.open_queries }}</td></tr>
{% endfor %}
</table>
{% if s.truncated %}

<h2>Counts per check ({{ s.scope }})</h2>
<table>
<tr><th>check</th><th>severity</th><th>new</th><th>open</th><th>title</th></tr>
{% for c in s.by_check %}
<tr><td><strong>{{ c.rule }}</strong></td><td class="sev-{{ c.severity.value }}">\
{{ c.severity.value }}</td><td class="n">{{ c.new }}</td><td class="n">{{ c.open }}</td>
<td>{{ c.title }}</td></tr>
{% endfor %}
</table>
{% endif %}

<h2>New deviations ({{ s.new|length }})</h2>
{{ item_table(s.new, true) }}

{% if not s.is_critical %}
<h2>Still open ({{ s.open|length }})</h2>
{{ item_table(s.open, false) }}
{% endif %}

<h2>Open queries per record</h2>
{% if s.records %}
<table>
<tr><th>record</th>{% if s.has_sites %}<th>site</th>{% endif %}<th>deviations</th><th>queries</th>
<th>oldest</th></tr>
{% for r in s.first(s.records) %}
<tr><td>{{ r.record }}</td>{% if s.has_sites %}<td>{{ r.site or "-" }}</td>{% endif %}
<td class="n">{{ r.deviations }}</td>
<td class="n">{{ r.queries }}</td><td>{{ days_text(r.oldest_days) }}</td></tr>
{% endfor %}
</table>
{{ more(s.records, " records") }}
{% else %}<p class="muted">none</p>{% endif %}

{% if not s.is_critical %}
<h2>Visits overdue ({{ s.overdue|length }})</h2>
{{ visit_table(s.overdue) }}
<h2>Visits due now or opening within {{ horizon }} ({{ s.due_soon|length }})</h2>
{{ visit_table(s.due_soon) }}

<h2>Study progress (participants{{ for_site }})</h2>
{% if s.progress %}
<table>
{% for label, count in s.progress %}
<tr><td>{{ label }}</td><td class="n">{{ count }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="muted">The study's rules define no progress counts.</p>{% endif %}
{% endif %}

{% if s.resolved_before %}
<p>{{ s.resolved_before }} deviation{{ plural(s.resolved_before) }} raised since the last
digest {{ "was" if s.resolved_before == 1 else "were" }} resolved before it went out.</p>
{% endif %}
{% if s.check_errors %}
<p>{{ s.check_errors }} check evaluation{{ plural(s.check_errors) }} failed in this run:
their earlier queries stand; the worker's log names the checks.</p>
{% endif %}
<p class="muted">{{ footer }}</p>
</body>
</html>
"""

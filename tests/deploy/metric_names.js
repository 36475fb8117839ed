// Every metric name that the alert rules and the Grafana dashboard query must be a sample
// name of a real lms's /metrics. Used by tests/deploy/check.sh.
//
//   node metric_names.js --metrics FILE [--metrics FILE...] [--optional NAME,...] RULES.yml|DASHBOARD.json...
//
// --metrics: /metrics texts of running servers (a name must be in one of them);
// --optional: names that may be missing (listed as such, not failed). Exit 1 with the
// missing names listed, 2 on bad input. Prints the names it found with --list.
'use strict';
const fs = require('fs');

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring',
  'group_left', 'group_right', 'inf', 'nan', 'atan2', 'Inf', 'NaN']);

// The metric names a PromQL expression reads.
function metricNames(expr) {
  let s = expr;
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ');  // strings
  s = s.replace(/\{[^}]*\}/g, ' ');                                     // label matchers
  s = s.replace(/\[[^\]]*\]/g, ' ');                                    // ranges, subqueries
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\$\{[^}]*\}|\$\w+/g, ' ');                             // Grafana variables
  const names = new Set();
  const re = /[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  let m;
  while ((m = re.exec(s))) {
    const word = m[0];
    const before = s[m.index - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue;       // 1e3, 5m
    if (/^\s*\(/.test(s.slice(re.lastIndex))) continue;                 // a function call
    if (KEYWORDS.has(word)) continue;
    names.add(word);
  }
  return names;
}

// The `expr:` values of a Prometheus rule file: `expr: ...` on one line, or a block scalar
// (`expr: |` / `expr: >`) of the more-indented lines that follow. Enough for rule files.
function ruleExpressions(text) {
  const lines = text.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(?:-\s+)?expr:\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    const value = m[2].trim();
    if (/^[|>][-+]?$/.test(value)) {
      const indent = m[1].length;
      const body = [];
      while (i + 1 < lines.length && (lines[i + 1].trim() === '' || /^\s*/.exec(lines[i + 1])[0].length > indent)) {
        body.push(lines[++i]);
      }
      out.push(body.join('\n'));
    } else {
      out.push(value.replace(/^(['"])(.*)\1$/, '$2'));
    }
  }
  return out;
}

// The `expr` of every target of every panel (rows included) and of query variables.
function dashboardExpressions(json) {
  const out = [];
  const walk = (v) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v && typeof v === 'object') {
      if (typeof v.expr === 'string') out.push(v.expr);
      Object.values(v).forEach(walk);
    }
  };
  walk(json.panels || []);
  // Query variables: label_values(SELECTOR, label) reads SELECTOR's metric.
  for (const v of (json.templating && json.templating.list) || []) {
    const q = typeof v.query === 'string' ? v.query : (v.query && v.query.query) || '';
    const m = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/.exec(q);
    if (m) out.push(m[1]);
  }
  return out;
}

function main(argv) {
  const metricsFiles = [];
  let optional = new Set();
  let list = false;
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--metrics') metricsFiles.push(argv[++i]);
    else if (argv[i] === '--optional') optional = new Set((argv[++i] || '').split(',').filter(Boolean));
    else if (argv[i] === '--list') list = true;
    else files.push(argv[i]);
  }
  if (metricsFiles.length === 0 || files.length === 0) {
    console.error('usage: node metric_names.js --metrics FILE... [--optional A,B] [--list] FILES...');
    return 2;
  }
  const exposed = new Set();
  for (const f of metricsFiles) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
      if (m) exposed.add(m[1]);
    }
  }
  if (exposed.size === 0) {
    console.error('metric_names: no samples in ' + metricsFiles.join(', '));
    return 2;
  }
  const used = new Map();  // name -> files
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    let exprs;
    if (f.endsWith('.json')) exprs = dashboardExpressions(JSON.parse(text));
    else exprs = ruleExpressions(text);
    if (exprs.length === 0) {
      console.error(`metric_names: no expressions found in ${f}`);
      return 2;
    }
    for (const e of exprs) for (const n of metricNames(e)) {
      if (!used.has(n)) used.set(n, new Set());
      used.get(n).add(f);
    }
  }
  if (list) for (const n of [...used.keys()].sort()) console.log(n);
  const missing = [];
  const allowed = [];
  for (const [n, where] of [...used.entries()].sort()) {
    if (exposed.has(n)) continue;
    if (optional.has(n)) allowed.push(n);
    else missing.push(`${n} (used in ${[...where].join(', ')})`);
  }
  if (allowed.length) console.error('metric_names: not exposed, allowed as optional: ' + allowed.join(', '));
  if (missing.length) {
    console.error('metric_names: used but not exposed by lms:\n  ' + missing.join('\n  '));
    return 1;
  }
  console.error(`metric_names: ${used.size} names used, each exposed by lms` +
                (allowed.length ? ` (or optional: ${allowed.length})` : ''));
  return 0;
}

process.exitCode = main(process.argv.slice(2));

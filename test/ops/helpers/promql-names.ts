/**
 * Metric names referenced by PromQL expressions (and Grafana's `label_values(metric, label)` variable
 * queries), for checking a dashboard against what the server exports. Strings, label matchers, range and
 * subquery brackets and `by/without/on/ignoring/group_*` label lists are removed first; every identifier left
 * that is not a function call, keyword or number is a metric name.
 */
const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless", "atan2", "inf", "nan", "start", "end"]);

export function metricNamesIn(expr: string): string[] {
  const labelValues = /^\s*label_values\(\s*([a-zA-Z_:][\w:]*)\s*,/.exec(expr);
  if (labelValues?.[1]) return [labelValues[1]];
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, " ");
  s = s.replace(/\[[^\]]*\]/g, " ");
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  s = s.replace(/\$\{?\w+\}?/g, " ");
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][\w:]*/g)) {
    const word = m[0];
    const after = s.slice((m.index ?? 0) + word.length);
    const before = s.slice(0, m.index ?? 0);
    if (/^\s*\(/.test(after)) continue; // a function or aggregation
    if (KEYWORDS.has(word.toLowerCase())) continue;
    if (/[\d.]$/.test(before)) continue; // the exponent or unit of a number (1e3, 5m)
    names.add(word);
  }
  return [...names];
}

/** Every PromQL expression of a Grafana dashboard: panel targets (also inside rows) and query variables. */
export function dashboardExpressions(dashboard: unknown): string[] {
  const out: string[] = [];
  const visit = (node: unknown, key: string): void => {
    if (Array.isArray(node)) node.forEach((n) => visit(n, key));
    else if (node && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) visit(v, k);
    } else if (typeof node === "string" && (key === "expr" || (key === "query" && /\w\(/.test(node)))) out.push(node);
  };
  visit(dashboard, "");
  return out;
}

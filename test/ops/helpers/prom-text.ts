/**
 * A strict parser of the Prometheus text exposition format 0.0.4 (what prom-client serves on /metrics), written
 * from the format's specification so the test does not trust prom-client to check itself. It throws on any line
 * that is not a HELP/TYPE/comment line or a well-formed sample, on samples outside their declared family, on a
 * family declared twice or typed after its samples, on duplicate series, and on histograms whose buckets are
 * not cumulative or whose +Inf bucket differs from _count.
 */

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  type: MetricType;
  help: string | undefined;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<string>(["counter", "gauge", "histogram", "summary", "untyped"]);
const SUFFIXES: Readonly<Record<MetricType, readonly string[]>> = {
  counter: [""], gauge: [""], untyped: [""], histogram: ["_bucket", "_sum", "_count"], summary: ["", "_sum", "_count"],
};

/** Parses an exposition; returns families by name. Throws an Error naming the line for anything malformed. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const seenSeries = new Set<string>();
  let current: MetricFamily | undefined;
  const lines = text.split("\n");
  if (lines.at(-1) !== "") throw new Error("exposition must end with a newline");
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line.slice(0, 120))}`;
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name = "", rest = ""] = m;
      if (!NAME.test(name)) throw new Error(`bad metric name in ${where}`);
      let family = families.get(name);
      if (!family) {
        family = { name, type: "untyped", help: undefined, samples: [] };
        families.set(name, family);
      } else if (family !== current) throw new Error(`family ${name} is not contiguous (${where})`);
      current = family;
      if (kind === "HELP") {
        if (family.help !== undefined) throw new Error(`second HELP for ${name} (${where})`);
        family.help = unescapeHelp(rest, where);
      } else {
        if (!TYPES.has(rest)) throw new Error(`unknown type in ${where}`);
        if (family.samples.length > 0) throw new Error(`TYPE after samples for ${name} (${where})`);
        family.type = rest as MetricType;
      }
      return;
    }
    const sample = parseSample(line, where);
    const family = current && familyOf(current, sample.name) ? current : undefined;
    if (!family) throw new Error(`sample outside its declared family (${where})`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seenSeries.has(key)) throw new Error(`duplicate series (${where})`);
    seenSeries.add(key);
    if (family.type === "counter" && !(sample.value >= 0)) throw new Error(`negative or NaN counter (${where})`);
    family.samples.push(sample);
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

function familyOf(family: MetricFamily, sampleName: string): boolean {
  return SUFFIXES[family.type].some((s) => sampleName === family.name + s);
}

function parseSample(line: string, where: string): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$/.exec(line);
  if (!m) throw new Error(`malformed sample (${where})`);
  const [, name = "", labelText, valueText = ""] = m;
  const value = parseValue(valueText, where);
  return { name, labels: labelText ? parseLabels(labelText, where) : {}, value };
}

function parseValue(text: string, where: string): number {
  // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes "Nan").
  if (/^nan$/i.test(text)) return Number.NaN;
  if (/^\+?inf$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value ${text} (${where})`);
  return Number(text);
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 1;
  while (i < text.length - 1) {
    const eq = text.indexOf("=", i);
    const name = text.slice(i, eq);
    if (eq < 0 || !LABEL.test(name)) throw new Error(`bad label name (${where})`);
    if (name in labels) throw new Error(`label ${name} twice (${where})`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted (${where})`);
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`bad escape in label value (${where})`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value (${where})`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (i !== text.length - 1) throw new Error(`expected , or } after a label (${where})`);
  }
  return labels;
}

function unescapeHelp(text: string, where: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (c === "n") return "\n";
    if (c === "\\") return "\\";
    throw new Error(`bad escape in HELP (${where})`);
  });
}

function checkHistogram(f: MetricFamily): void {
  const groups = new Map<string, Sample[]>();
  for (const s of f.samples.filter((x) => x.name.endsWith("_bucket"))) {
    const { le, ...rest } = s.labels;
    if (le === undefined) throw new Error(`${f.name}: bucket without le`);
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const [key, buckets] of groups) {
    let last = -1;
    let lastLe = Number.NEGATIVE_INFINITY;
    for (const b of buckets) {
      const le = parseValue(b.labels.le ?? "", `${f.name} le`);
      if (!(le > lastLe) || b.value < last) throw new Error(`${f.name}${key}: buckets not cumulative in increasing le`);
      lastLe = le;
      last = b.value;
    }
    if (lastLe !== Number.POSITIVE_INFINITY) throw new Error(`${f.name}${key}: no +Inf bucket`);
    const count = f.samples.find((s) => s.name === `${f.name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key);
    if (count?.value !== last) throw new Error(`${f.name}${key}: +Inf bucket ${last} differs from _count ${count?.value}`);
  }
}

/** The sum of every sample named `name` whose labels include `match` (0 when none). */
export function sumOf(families: Map<string, MetricFamily>, name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
  }
  return total;
}

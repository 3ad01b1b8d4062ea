/**
 * Counters and gauges in Prometheus' text format. Deliberately tiny: the hot path does one
 * Map lookup and an addition per increment.
 */
type Labels = Record<string, string>;

interface Family {
  help: string;
  type: "counter" | "gauge";
  series: Map<string, { labels: Labels; value: number }>;
  /** Gauges sampled at scrape time rather than kept up to date on every change. */
  sample?: () => number;
}

function labelKey(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`)
    .join(",");
}

export class Metrics {
  private readonly families = new Map<string, Family>();

  counter(name: string, help: string): (amount?: number, labels?: Labels) => void {
    const family = this.family(name, help, "counter");
    return (amount = 1, labels = {}) => this.add(family, labels, amount);
  }

  gauge(name: string, help: string, sample: () => number): void {
    this.families.set(name, { help, type: "gauge", series: new Map(), sample });
  }

  private family(name: string, help: string, type: Family["type"]): Family {
    let family = this.families.get(name);
    if (!family) {
      family = { help, type, series: new Map() };
      this.families.set(name, family);
    }
    return family;
  }

  private add(family: Family, labels: Labels, amount: number): void {
    const key = labelKey(labels);
    const series = family.series.get(key);
    if (series) series.value += amount;
    else family.series.set(key, { labels, value: amount });
  }

  /** Current value of one series, for tests and the CLI. */
  value(name: string, labels: Labels = {}): number {
    const family = this.families.get(name);
    if (!family) return 0;
    if (family.sample) return family.sample();
    return family.series.get(labelKey(labels))?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.families) {
      lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`);
      if (family.sample) {
        lines.push(`${name} ${family.sample()}`);
        continue;
      }
      if (family.series.size === 0) lines.push(`${name} 0`);
      for (const [key, series] of family.series) {
        lines.push(key ? `${name}{${key}} ${series.value}` : `${name} ${series.value}`);
      }
    }
    return `${lines.join("\n")}\n`;
  }
}

// Pure helpers of the explorer's chart: an OTLP metric's answer as the lines of the services'
// `TimeChart`, and its exemplars as dots that lead to their traces.
import { serviceColor } from '../lib/format';
import { traceHref } from '../lib/links';
import type { OtelMetrics, SeriesExemplar } from '../lib/types';
import { alignSeries, type Aligned } from '../services/chart';
import type { ChartMark, ChartSeries } from '../services/TimeChart';
import { seriesName } from '../search/querychart';

/** Lines drawn at most (the API answers the series with the most points first). */
export const MAX_LINES = 8;

/** Functions whose values are in the unit of what was measured, so that an exemplar sits at its own value. */
const VALUE_FNS = /^(avg|min|max|p\d+)$/;

export interface ExplorerChart {
  a: Aligned;
  series: ChartSeries[];
  marks: ChartMark[];
  /** The exemplar of each mark. */
  exemplars: SeriesExemplar[];
}

/**
 * The lines of an answer (at most `MAX_LINES`, each named by its labels and coloured by that
 * name when grouped) and a dot per exemplar of theirs that has a trace, at the step of its
 * point (where the lines have their points): for functions of the measured values (averages,
 * percentiles) at its value; for rates, counts and sums, which are not in the measured unit,
 * on its line.
 */
export function explorerChart(answer: OtelMetrics, fn: string): ExplorerChart {
  const a = alignSeries(answer, null);
  const shown = answer.series.slice(0, MAX_LINES);
  const colors = lineColors(shown);
  const series = shown.map((s, i) => ({ label: seriesName(s.labels), color: colors[i], values: a.ys[i] }));
  const marks: ChartMark[] = [];
  const exemplars: SeriesExemplar[] = [];
  shown.forEach((s, i) => {
    for (const e of s.exemplars) {
      if (!e.trace_id) continue;
      const step = Math.floor((e.t - answer.start_ns) / answer.step_ns);
      const y = VALUE_FNS.test(fn) ? e.value : (a.ys[i][step] ?? null);
      if (y === null) continue;
      marks.push({ x: e.t / 1e9, y, color: series[i].color, title: `exemplar ${e.value} of ${series[i].label}` });
      exemplars.push(e);
    }
  });
  return { a, series, marks, exemplars };
}

/** The colour of each series: by its name when grouped, else the accent. */
export function lineColors(series: OtelMetrics['series']): string[] {
  const grouped = series.some((s) => Object.keys(s.labels).length > 0);
  return series.map((s) => (grouped ? serviceColor(seriesName(s.labels)) : '--accent'));
}

/** Where an exemplar leads: its trace, with its span selected when it names one. */
export function exemplarHref(e: SeriesExemplar): string | null {
  return e.trace_id ? traceHref(e.trace_id, e.span_id) : null;
}

import { useMemo } from 'preact/hooks';
import { navigate } from '../lib/router';
import type { OtelMetrics } from '../lib/types';
import { TimeChart } from '../services/TimeChart';
import { exemplarHref, explorerChart } from './chart';
import { answerFormats } from './units';

interface Props {
  answer: OtelMetrics;
  fn: string;
  height: number;
  /** What a click on a step opens, said in the hint, and the step's bounds (ns) it gets. */
  pickHint: string;
  onPick: (startNs: number, endNs: number) => void;
}

/** An OTLP metric's answer as the services' `TimeChart`: its lines in its unit, and its exemplars as dots that open their trace. */
export function MetricChart({ answer, fn, height, pickHint, onPick }: Props) {
  const chart = useMemo(() => explorerChart(answer, fn), [answer, fn]);
  const { format, axis } = answerFormats(answer, fn);
  return (
    <TimeChart
      title={`${fn}(${answer.metric})`}
      xs={chart.a.xs}
      series={chart.series}
      format={format}
      axis={axis}
      height={height}
      pickHint={pickHint}
      onPick={(i) => onPick(chart.a.ts[i], chart.a.ts[i] + chart.a.stepNs)}
      marks={chart.marks}
      onMark={(i) => {
        const href = exemplarHref(chart.exemplars[i]);
        if (href) navigate(href);
      }}
    />
  );
}

// Line charts on uPlot (the global from /static/vendor/uPlot.iife.min.js), sized to their
// container and redrawn on resize.
import { pointCount } from './lib.js';

const HEIGHT = 200;

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export class LineChart {
  // series: [{label, color}], format: a value -> text function for the y axis and the legend.
  constructor(container, series, format) {
    this.container = container;
    this.series = series;
    this.format = format;
    this.data = [[], ...series.map(() => [])];
    this.empty = container.parentElement?.querySelector('.chart-empty') ?? null;
    this.uplot = null;
    new ResizeObserver(() => this.resize()).observe(container);
  }

  width() {
    return Math.max(200, Math.floor(this.container.clientWidth));
  }

  create() {
    const fg = cssVar('--muted', '#666');
    const grid = cssVar('--grid', 'rgba(0,0,0,0.08)');
    const axis = (values) => ({ stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, values });
    const format = this.format;
    this.uplot = new uPlot({
      width: this.width(),
      height: HEIGHT,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [axis(), { ...axis((u, ticks) => ticks.map(format)), size: 64 }],
      series: [
        {},
        ...this.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          points: { show: false },
          spanGaps: false,
          value: (u, v) => (v === null || v === undefined ? '\u2014' : format(v)),
        })),
      ],
    }, this.data, this.container);
  }

  // data: uPlot's aligned columns.
  set(data) {
    this.data = data;
    if (!this.uplot) this.create();
    else this.uplot.setData(data);
    if (this.empty) this.empty.hidden = pointCount(data) > 0;
  }

  resize() {
    if (this.uplot && this.uplot.width !== this.width()) this.uplot.setSize({ width: this.width(), height: HEIGHT });
  }

  points() {
    return pointCount(this.data);
  }
}

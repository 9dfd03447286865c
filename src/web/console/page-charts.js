// The Charts page: the last 24 h of queue depth per destination, delivery
// latency (p50/p95) and migration throughput, from the samples `serve` records
// once a minute. Redrawn every minute while shown.
import { el } from './api.js';
import { renderCharts } from './chart.js';

let root = null;
let timer = null;

async function draw() {
  try {
    await renderCharts(root.querySelector('#charts-gateway'));
  } catch (err) {
    root.querySelector('#charts-gateway').replaceChildren(el('p', { class: 'error' }, `Could not load the charts: ${err.message}`));
  }
}

export async function mount(container) {
  root = container;
  root.replaceChildren(el('h2', {}, 'Last 24 hours'), el('section', { id: 'charts-gateway', class: 'charts' }));
  await show();
}

export async function show() {
  await draw();
  clearInterval(timer);
  timer = setInterval(() => void draw(), 60_000);
}

export function hide() {
  clearInterval(timer);
  timer = null;
}

// The dashboard under test (Rscript on a free port) and headless Chromium.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const DASHBOARD_DIR = resolve(here, '..', '..');
export const SCREENSHOT_DIR = process.env.SBW_SCREENSHOT_DIR || join(DASHBOARD_DIR, '..', 'docs', 'screenshots');
const CHROMIUM = process.env.SBW_CHROMIUM || '/usr/bin/chromium';

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** Starts the app with the test's libpq variables plus `env`; resolves once it answers. */
export async function startDashboard(env = {}) {
  const port = await freePort();
  const child = spawn(
    'Rscript',
    ['-e', `shiny::runApp(${JSON.stringify(DASHBOARD_DIR)}, port = ${port}, launch.browser = FALSE)`],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout.on('data', (chunk) => (log += chunk));
  child.stderr.on('data', (chunk) => (log += chunk));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the dashboard exited with ${child.exitCode}:\n${log}`);
    try {
      await fetch(`${url}/healthz`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`the dashboard did not answer within 60 s:\n${log}`);
      await new Promise((wait) => setTimeout(wait, 200));
    }
  }
  return {
    url,
    log: () => log,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}

export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A page that records script errors; `errors()` lists them. */
export async function openPage(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  page.errors = () => errors;
  await page.goto(url);
  return page;
}

/**
 * Waits until the module's pane is drawn: every chart with plotted data and
 * drawn marks, every table with rows, its KPI boxes. Returns what it found.
 */
export async function waitForModule(page, module) {
  await page.waitForFunction(
    (id) => {
      const pane = document.querySelector(`.tab-pane.active[data-value="${id}"]`);
      if (!pane || pane.querySelector('.recalculating')) return false;
      const plots = [...pane.querySelectorAll('.plotly.html-widget')];
      const tables = [...pane.querySelectorAll('.datatables')];
      // plotly.js draws into the widget's own element (class js-plotly-plot).
      const drawn = plots.every((plot) => {
        const points = (plot._fullData || []).reduce(
          (n, trace) => n + Math.max(trace.x?.length || 0, trace.y?.length || 0),
          0,
        );
        const marks = [...plot.querySelectorAll('.plot path')].filter((p) => (p.getAttribute('d') || '').length > 2);
        return plot.classList.contains('js-plotly-plot') && points > 0 && marks.length > 0;
      });
      const filled = tables.every((t) => t.querySelectorAll('tbody tr').length > 0 && !t.querySelector('.dataTables_empty'));
      return plots.length > 0 && drawn && filled;
    },
    module,
    { timeout: 20_000 },
  );
  return page.evaluate((id) => {
    const pane = document.querySelector(`.tab-pane.active[data-value="${id}"]`);
    return {
      charts: [...pane.querySelectorAll('.js-plotly-plot')].map((plot) => ({
        id: plot.id,
        traces: plot._fullData.length,
        points: plot._fullData.reduce((n, t) => n + Math.max(t.x?.length || 0, t.y?.length || 0), 0),
      })),
      tables: [...pane.querySelectorAll('.datatables')].map((t) => ({
        id: t.id,
        rows: t.querySelectorAll('tbody tr').length,
      })),
      kpis: Object.fromEntries(
        [...pane.querySelectorAll('.bslib-value-box')].map((box) => [
          box.querySelector('.sbw-kpi-title').textContent.trim(),
          box.querySelector('.sbw-kpi-value').textContent.trim(),
        ]),
      ),
      freshness: pane.querySelector('.sbw-freshness').textContent.trim(),
    };
  }, module);
}

/** The `.shiny-output-error` elements on the page (their text). */
export function outputErrors(page) {
  return page.$$eval('.shiny-output-error', (nodes) => nodes.map((n) => n.id + ': ' + n.textContent));
}

/** The text of a KPI box of the active module, once it is no longer `previous`. */
export async function kpiValue(page, module, title, previous = null) {
  const handle = await page.waitForFunction(
    ({ id, title, previous }) => {
      const pane = document.querySelector(`.tab-pane.active[data-value="${id}"]`);
      if (!pane || pane.querySelector('.recalculating')) return null;
      const box = [...pane.querySelectorAll('.bslib-value-box')].find(
        (b) => b.querySelector('.sbw-kpi-title').textContent.trim() === title,
      );
      const value = box?.querySelector('.sbw-kpi-value').textContent.trim();
      return value && value !== previous ? value : null;
    },
    { id: module, title, previous },
    { timeout: 20_000 },
  );
  return handle.jsonValue();
}

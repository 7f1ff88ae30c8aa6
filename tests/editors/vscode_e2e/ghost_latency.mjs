// Keystroke to ghost text in VS Code, as a person sees it. Each round types a new line at
// the end of the file, a key every `paceMs`, pauses, types the last key, and takes the time
// from the moment that key went down (the page's own keydown event) to the frame that paints
// the first ghost text after it. Both times are the page's clock, so everything between is
// in it: the browser, VS Code's workbench, the extension host and vscode-languageclient,
// `quill serve` and the model host. The file is put back as it was after each round.
// Used by bench/vscode_ghost_text.py.
//
//   node ghost_latency.mjs CONFIG.json

import {
  log,
  openFile,
  openWorkbench,
  press,
  readConfig,
  screenshot,
  settle,
  sleep,
  waitForStatus,
  writeResult,
} from "./workbench.mjs";

const config = readConfig();
const result = { rounds: [] };

/** The first ghost text painted after the page's last keydown, or null within `timeoutMs`;
 * `showing`: ghost text was already on screen when the key went down (typed through). */
async function ghostAfterLastKey(page, timeoutMs) {
  const found = () => {
    const q = window.__quill;
    const last = q.keydowns.at(-1);
    const entry = q.ghostHistory.find((e) => e.t >= last.t && e.text !== null && e.painted !== undefined);
    if (!entry) {
      return null;
    }
    const before = q.ghostHistory.filter((e) => e.t < last.t).at(-1);
    return {
      text: entry.text,
      ms: entry.painted - last.t,
      key: last.key,
      showing: before?.text != null,
      // Wall-clock times, to lay beside the server wrapper's timeline.
      keyEpoch: performance.timeOrigin + last.t,
      paintEpoch: performance.timeOrigin + entry.painted,
    };
  };
  try {
    await page.waitForFunction(found, { timeout: timeoutMs, polling: 10 });
  } catch {
    return null;
  }
  return await page.evaluate(found);
}

/** Back to the file as it was: everything after line 1 deleted, then a quiet moment. */
async function restore(page) {
  await page.keyboard.press("Escape");
  await press(page, "KeyG", ["Control"]);
  await page.keyboard.type("1");
  await page.keyboard.press("Enter");
  await page.keyboard.press("End");
  await press(page, "End", ["Control", "Shift"]);
  await page.keyboard.press("Delete");
  await waitForStatus(page, "ready", 30_000, await page.evaluate(() => window.__quill.statuses.length - 1));
  await sleep(config.betweenRoundsMs);
}

async function round(page, keys) {
  await press(page, "End", ["Control"]);
  const [last] = keys.slice(-1);
  await page.keyboard.type(keys.slice(0, -1).join(""), { delay: config.paceMs });
  await sleep(config.paceMs);
  await page.keyboard.type(last);
  return await ghostAfterLastKey(page, config.ghostTimeoutMs);
}

let browser;
let page;
try {
  ({ browser, page } = await openWorkbench(config));
  // When each ghost text was painted: the first animation frame after it changed.
  await page.evaluate(() => {
    const mark = () => {
      for (const entry of window.__quill.ghostHistory) {
        if (entry.painted === undefined) {
          entry.painted = performance.now();
        }
      }
      requestAnimationFrame(mark);
    };
    requestAnimationFrame(mark);
  });
  await waitForStatus(page, "ready", config.readyTimeoutMs);
  await openFile(page, config.file);
  for (const planned of config.rounds) {
    const ghost = await round(page, planned.keys);
    result.rounds.push({ ...planned, ghost });
    log(`${planned.place} #${planned.index}: ${ghost ? `${ghost.ms.toFixed(0)} ms ${JSON.stringify(ghost.text.slice(0, 30))}` : "none"}`);
    if (planned === config.rounds.at(-1) && ghost) {
      result.screenshot = await screenshot(page, config.artifacts, "vscode-ghost-text-bench.png");
    }
    await restore(page);
  }
} catch (error) {
  result.error = String(error?.stack ?? error);
  log(`error: ${result.error}`);
} finally {
  writeResult(config, result);
  if (browser) {
    await browser.close();
  }
}

// What a person does with Quill in VS Code, step by step, and what they see at each step:
// the status bar item turns ready; typing shows ghost text and Tab accepts it; the
// next-suggestion key (Alt+]) shows another suggestion and Tab accepts that one; the lightbulb
// offers "Quill: Add docstring" and applying it changes the buffer; a server that is killed
// shows as crashed, is restarted and turns ready again; a server that keeps failing stays
// crashed. The result (JSON) is checked by tests/editors/test_vscode_real.py.
//
//   node scenario.mjs CONFIG.json

import * as fs from "node:fs";
import * as path from "node:path";

import {
  editorText,
  log,
  openFile,
  openWorkbench,
  press,
  readConfig,
  screenshot,
  sleep,
  statuses,
  waitForGhost,
  waitForStatus,
  writeResult,
} from "./workbench.mjs";

const config = readConfig();
const result = { screenshots: {}, steps: [] };

function step(name) {
  log(`step: ${name}`);
  result.steps.push(name);
}

/** Saves the active editor (Ctrl+S) and waits until its tab is no longer dirty. */
async function save(page) {
  await press(page, "KeyS", ["Control"]);
  await page.waitForFunction(() => document.querySelector(".tabs-container .tab.active.dirty") === null, {
    timeout: 10_000,
  });
}

/** Opens `file`, goes to its end and presses `key` there: the file's text before the key,
 * and the ghost text that came after it. */
async function ghostAfterKeyAtEnd(page, file, key) {
  await openFile(page, file);
  await press(page, "End", ["Control"]);
  const textBefore = await editorText(page);
  await page.keyboard.press(key);
  const ghost = await waitForGhost(page, config.ghostTimeoutMs);
  log(`ghost text after ${ghost.ms.toFixed(0)} ms: ${JSON.stringify(ghost.text)}`);
  return { textBefore, ghost };
}

/** Tab, as a person accepts ghost text; the editor's text after it, saved. */
async function acceptWithTab(page) {
  await page.keyboard.press("Tab");
  await page.waitForFunction(() => window.__quill.ghost === null, { timeout: 10_000 });
  const text = await editorText(page);
  await save(page);
  return text;
}

async function ghostTextAndTab(page) {
  step("ghost text");
  // One key, as a person types it: the space that ends the line, after which the model counts on.
  ({ textBefore: result.textBeforeTyping, ghost: result.ghost } = await ghostAfterKeyAtEnd(
    page,
    config.countingFile,
    "Space",
  ));
  result.screenshots.ghostText = await screenshot(page, config.artifacts, "vscode-ghost-text.png");
  step("Tab");
  result.textAfterTab = await acceptWithTab(page);
}

async function nextSuggestionAndTab(page) {
  step("next suggestion");
  // Enter: the editor keeps the indentation, and at the new line start Quill is asked.
  ({ textBefore: result.cyclingTextBefore, ghost: result.likeliest } = await ghostAfterKeyAtEnd(
    page,
    config.cyclingFile,
    "Enter",
  ));
  // editor.action.inlineSuggest.showNext: VS Code asks again, explicitly, and shows the next.
  await press(page, "BracketRight", ["Alt"]);
  await page.waitForFunction((first) => window.__quill.ghost !== null && window.__quill.ghost !== first, {
    timeout: config.ghostTimeoutMs,
    polling: 20,
  }, result.likeliest.text);
  await sleep(300); // the whole of it painted (its later lines are a view zone)
  result.next = await page.evaluate(() => window.__quill.ghost);
  log(`the next suggestion: ${JSON.stringify(result.next)}`);
  result.screenshots.nextSuggestion = await screenshot(page, config.artifacts, "vscode-next-suggestion.png");
  step("Tab on the next");
  result.cyclingTextAfterTab = await acceptWithTab(page);
}

async function codeActionFromLightbulb(page) {
  step("code action");
  await openFile(page, config.actionFile);
  // Go to the function's name (Ctrl+G line:column), where Quill's actions for it are listed.
  await press(page, "KeyG", ["Control"]);
  await page.keyboard.type(config.actionPosition);
  await page.keyboard.press("Enter");
  const bulb = ".editor-group-container.active .lightBulbWidget .codicon, .editor-group-container.active .lightBulbWidget";
  await page.waitForSelector(bulb, { visible: true, timeout: 30_000 });
  result.screenshots.lightbulb = await screenshot(page, config.artifacts, "vscode-lightbulb.png");
  await page.click(bulb);
  await page.waitForSelector(".action-widget .monaco-list-row", { visible: true, timeout: 15_000 });
  result.actionTitles = await page.$$eval(".action-widget .monaco-list-row", (rows) =>
    rows.map((row) => row.textContent.trim()).filter((text) => text.length > 0),
  );
  log(`actions: ${JSON.stringify(result.actionTitles)}`);
  result.screenshots.actions = await screenshot(page, config.artifacts, "vscode-code-actions.png");
  const rows = await page.$$(".action-widget .monaco-list-row");
  let clicked = false;
  for (const row of rows) {
    const text = await row.evaluate((element) => element.textContent.trim());
    if (text.includes(config.actionTitle)) {
      await row.click();
      clicked = true;
      break;
    }
  }
  if (!clicked) {
    throw new Error(`no "${config.actionTitle}" among ${JSON.stringify(result.actionTitles)}`);
  }
  const before = result.actionTextBefore = await editorText(page);
  await page.waitForFunction(
    (old) => {
      const editor = document.querySelector(".editor-group-container.active .monaco-editor");
      const text = [...editor.querySelectorAll(".view-lines .view-line")].map((l) => l.textContent).join("\n");
      return text.replace(/\u00a0/g, " ") !== old && text.includes('"""');
    },
    { timeout: config.actionTimeoutMs, polling: 100 },
    before,
  );
  await sleep(300);
  result.textAfterAction = await editorText(page);
  result.screenshots.codeAction = await screenshot(page, config.artifacts, "vscode-code-action-applied.png");
  await save(page);
}

async function crashAndRestart(page) {
  step("kill the server");
  const pidFile = path.join(config.recordDir, "server.pid");
  const pid = Number(fs.readFileSync(pidFile, "utf8"));
  const from = (await statuses(page)).length;
  process.kill(pid, "SIGKILL");
  result.killedPid = pid;
  const seen = await waitForStatus(page, "crashed", 20_000, from);
  const crashedAt = seen.findIndex((s, i) => i >= from && s.state === "crashed");
  step("restarted");
  await waitForStatus(page, "ready", 60_000, crashedAt + 1);
  result.restartedPid = Number(fs.readFileSync(pidFile, "utf8"));

  step("a server that cannot start");
  // The wrapper now refuses to start: every restart fails at once, until the client gives up.
  fs.writeFileSync(path.join(config.recordDir, "refuse"), "");
  const again = (await statuses(page)).length;
  process.kill(result.restartedPid, "SIGKILL");
  await page.waitForFunction(
    (from) =>
      window.__quill.statuses.slice(from).some((s) => s.state === "crashed" && s.label.includes("will not be restarted")),
    { timeout: 60_000, polling: 50 },
    again,
  );
  await sleep(1000); // nothing else comes after it
  result.finalStatus = (await statuses(page)).at(-1);
  result.screenshots.crashed = await screenshot(page, config.artifacts, "vscode-status-crashed.png");
  // The pointer on the item shows its tooltip: what happened and what to do.
  await page.hover('[id="quill-lsp.quill-vscode"]');
  const hover = ".workbench-hover-container, .monaco-hover:not(.hidden)";
  try {
    await page.waitForSelector(hover, { visible: true, timeout: 5_000 });
    result.crashTooltip = await page.$eval(hover, (element) => element.textContent);
  } catch {
    result.crashTooltip = null;
  }
  result.screenshots.crashedTooltip = await screenshot(page, config.artifacts, "vscode-status-crashed-tooltip.png");
}

let browser;
let page;
let consoleLines = [];
try {
  step("open the workbench");
  ({ browser, page, consoleLines } = await openWorkbench(config));
  await waitForStatus(page, "ready", config.readyTimeoutMs);
  result.screenshots.ready = await screenshot(page, config.artifacts, "vscode-ready.png");
  await ghostTextAndTab(page);
  await nextSuggestionAndTab(page);
  await codeActionFromLightbulb(page);
  await crashAndRestart(page);
  step("done");
} catch (error) {
  result.error = String(error?.stack ?? error);
  log(`error: ${result.error}`);
  if (page) {
    try {
      result.screenshots.failure = await screenshot(page, config.artifacts, "vscode-failure.png");
    } catch {
      // The page may be gone; the error says why.
    }
  }
} finally {
  if (page) {
    try {
      result.statuses = await statuses(page);
    } catch {
      // As above.
    }
  }
  result.console = consoleLines.slice(-150);
  writeResult(config, result);
  if (browser) {
    await browser.close();
  }
}

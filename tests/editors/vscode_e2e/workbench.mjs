// The VS Code workbench (code-server) in a headless Chromium, seen and driven as a person
// would: keys typed into the editor, clicks on what is on screen, and what the screen shows
// read back from the DOM (ghost text, the status bar item, the lines of the editor).

import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";

import chromium from "@sparticuz/chromium";
import puppeteer from "puppeteer-core";

// No network here, and nothing the test does not ask for: no GPU, no background fetches.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--no-zygote",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--disable-extensions",
  "--no-default-browser-check",
  "--password-store=basic",
  "--window-size=1280,800",
];

export const VIEWPORT = { width: 1280, height: 800 };

/** The Chromium to run: QUILL_CHROMIUM if set, else the one @sparticuz/chromium carries. */
export async function chromiumPath() {
  const configured = process.env.QUILL_CHROMIUM;
  if (configured) {
    if (!fs.existsSync(configured)) {
      throw new Error(`QUILL_CHROMIUM=${configured} does not exist`);
    }
    return configured;
  }
  return await chromium.executablePath();
}

export function readConfig() {
  return JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
}

export function writeResult(config, result) {
  fs.writeFileSync(config.result, JSON.stringify(result, null, 2));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function log(...args) {
  console.log(new Date().toISOString(), ...args);
}

/**
 * The status bar texts of the extension's own statusView (out/src/logic.js in the installed
 * extension): each state's icon and tooltip, so a state is read from the screen by the same
 * table that put it there.
 */
export async function loadStatusTable(extensionsDir) {
  const [folder] = fs.readdirSync(extensionsDir).filter((name) => name.startsWith("quill-lsp.quill-vscode-"));
  const logic = path.join(extensionsDir, folder, "out", "src", "logic.js");
  const module = await import(pathToFileURL(logic).href);
  const { CLIENT_STATES, statusView } = module.default ?? module;
  return CLIENT_STATES.map((state) => {
    const view = statusView(state);
    const icon = /^\$\(([\w-]+)/.exec(view.text)[1];
    return { state, icon, tooltip: view.tooltip };
  });
}

// Runs in the page before VS Code loads: records every change of Quill's status bar item and
// when ghost text is on screen, with the page's clock, and when each key went down.
function pageInstrumentation(statusTable) {
  window.__quill = { statuses: [], keydowns: [], ghost: null, ghostSince: null, ghostHistory: [] };
  const stateOf = (item) => {
    const icon = item.querySelector(".codicon");
    const iconName = icon ? [...icon.classList].find((c) => c.startsWith("codicon-") && c !== "codicon-modifier-spin") : "";
    const label = item.getAttribute("aria-label") ?? "";
    const match = statusTable.find((row) => iconName === `codicon-${row.icon}` && label.includes(row.tooltip));
    return { state: match ? match.state : "unknown", icon: iconName, label };
  };
  // Ghost text: the inline part is a run of syntax-highlighted spans in the cursor's line, the
  // lines after it are view lines of a view zone (spans of class ghost-text); read in order
  // of their place on screen.
  const ghostText = () => {
    const editor = document.querySelector(".editor-group-container.active .monaco-editor");
    if (!editor) {
      return null;
    }
    const lines = new Map();
    const top = (element) => element.getBoundingClientRect().top;
    for (const span of editor.querySelectorAll(".ghost-text-decoration")) {
      const line = span.closest(".view-line") ?? span;
      lines.set(line, (lines.get(line) ?? "") + span.textContent);
    }
    for (const line of editor.querySelectorAll(".view-zones .view-line")) {
      if (line.querySelector(".ghost-text") !== null) {
        lines.set(line, line.textContent);
      }
    }
    if (lines.size === 0) {
      return null;
    }
    return [...lines.entries()]
      .sort(([a], [b]) => top(a) - top(b))
      .map(([, text]) => text.replace(/\u00a0/g, " "))
      .join("\n");
  };
  window.addEventListener("keydown", (event) => window.__quill.keydowns.push({ key: event.key, t: performance.now() }), true);
  let lastStatus = "";
  const observe = () => {
    const item = document.getElementById("quill-lsp.quill-vscode");
    if (item) {
      const status = stateOf(item);
      const key = `${status.state}|${status.label}`;
      if (key !== lastStatus) {
        lastStatus = key;
        window.__quill.statuses.push({ ...status, t: performance.now() });
      }
    }
    const ghost = ghostText();
    if (ghost !== window.__quill.ghost) {
      window.__quill.ghost = ghost;
      window.__quill.ghostHistory.push({ text: ghost, t: performance.now() });
      if (ghost === null) {
        window.__quill.ghostSince = null;
      } else if (window.__quill.ghostSince === null) {
        const seen = performance.now();
        window.__quill.ghostSince = seen;
        // The frame that paints it: what a person sees.
        requestAnimationFrame(() => {
          if (window.__quill.ghostSince === seen) {
            window.__quill.ghostPainted = performance.now();
          }
        });
      }
    }
  };
  new MutationObserver(observe).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}

/** Chromium on the workbench of `url` with `folder` open, once Quill's item is on screen. */
export async function openWorkbench(config) {
  const browser = await puppeteer.launch({
    executablePath: await chromiumPath(),
    headless: "shell",
    args: [...CHROMIUM_ARGS, `--user-data-dir=${config.browserDir}`],
    defaultViewport: VIEWPORT,
    protocolTimeout: 120_000,
  });
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  const consoleLines = [];
  page.on("console", (message) => consoleLines.push(`${message.type()}: ${message.text()}`.slice(0, 500)));
  page.on("pageerror", (error) => consoleLines.push(`pageerror: ${String(error)}`.slice(0, 500)));
  // A headless page is not always the focused one: VS Code hides ghost text on blur.
  await page.emulateFocusedPage(true);
  const statusTable = await loadStatusTable(config.extensionsDir);
  await page.evaluateOnNewDocument(pageInstrumentation, statusTable);
  const url = `${config.url}/?folder=${encodeURIComponent(config.workspace)}`;
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await page.waitForSelector(".monaco-workbench", { timeout: 60_000 });
  await page.waitForSelector('[id="quill-lsp.quill-vscode"]', { timeout: 60_000 });
  return { browser, page, consoleLines, statusTable };
}

export async function statuses(page) {
  return await page.evaluate(() => window.__quill.statuses);
}

/** Waits until the status bar item shows `state`; the states seen on the way. */
export async function waitForStatus(page, state, timeoutMs = 60_000, since = 0) {
  await page.waitForFunction(
    (wanted, from) => window.__quill.statuses.slice(from).some((s) => s.state === wanted),
    { timeout: timeoutMs, polling: 50 },
    state,
    since,
  );
  return await statuses(page);
}

export async function currentStatus(page) {
  const all = await statuses(page);
  return all[all.length - 1];
}

/** Opens a file by name through Quick Open (Ctrl+P), as a person does. */
export async function openFile(page, name) {
  await page.keyboard.down("Control");
  await page.keyboard.press("KeyP");
  await page.keyboard.up("Control");
  await page.waitForSelector(".quick-input-widget:not([style*='display: none']) input", { timeout: 20_000 });
  await page.keyboard.type(name);
  await page.waitForFunction(
    (wanted) => [...document.querySelectorAll(".quick-input-list .monaco-list-row")].some((row) => row.textContent.includes(wanted)),
    { timeout: 20_000 },
    name,
  );
  await page.keyboard.press("Enter");
  await page.waitForFunction(
    (wanted) => {
      const tab = document.querySelector(".tabs-container .tab.active");
      return tab !== null && tab.textContent.includes(wanted) && document.activeElement?.closest(".monaco-editor") !== null;
    },
    { timeout: 20_000 },
    name,
  );
  await settle(page);
}

/**
 * Waits until the page has been idle twice: VS Code creates some editor contributions, the
 * inline completions controller among them, only when the window is idle, so a key typed
 * the instant a file opens asks for no suggestion (for a person too; a person is slower).
 */
export async function settle(page) {
  for (let i = 0; i < 2; i++) {
    await page.evaluate(() => new Promise((resolve) => requestIdleCallback(() => resolve(), { timeout: 2000 })));
  }
  await sleep(200);
}

export async function press(page, key, modifiers = []) {
  for (const modifier of modifiers) {
    await page.keyboard.down(modifier);
  }
  await page.keyboard.press(key);
  for (const modifier of modifiers.slice().reverse()) {
    await page.keyboard.up(modifier);
  }
}

/** The text of the active editor as its view shows it (all lines: the files are short). */
export async function editorText(page) {
  return await page.evaluate(() => {
    const editor = document.querySelector(".editor-group-container.active .monaco-editor");
    const lines = [...editor.querySelectorAll(".view-lines .view-line")]
      .map((line) => {
        const copy = line.cloneNode(true);
        copy.querySelectorAll(".ghost-text-decoration").forEach((ghost) => ghost.remove());
        return { top: parseFloat(line.style.top), text: copy.textContent.replace(/\u00a0/g, " ") };
      })
      .sort((a, b) => a.top - b.top);
    return lines.map((line) => line.text).join("\n");
  });
}

/** The ghost text on screen, or null. */
export async function ghostText(page) {
  return await page.evaluate(() => window.__quill.ghost);
}

/** Every ghost text shown (null: none) since the page loaded, with the page's clock. */
export async function ghostHistory(page) {
  return await page.evaluate(() => window.__quill.ghostHistory);
}

/** Waits for ghost text to be painted after the last key went down; the text and the time
 * from that keydown to the frame that painted it, in ms. */
export async function waitForGhost(page, timeoutMs = 30_000) {
  await page.waitForFunction(
    () => {
      const q = window.__quill;
      const last = q.keydowns[q.keydowns.length - 1];
      return q.ghost !== null && q.ghostPainted !== undefined && q.ghostPainted >= q.ghostSince && last !== undefined && q.ghostSince >= last.t;
    },
    { timeout: timeoutMs, polling: 20 },
  );
  return await page.evaluate(() => {
    const q = window.__quill;
    const last = q.keydowns[q.keydowns.length - 1];
    return { text: q.ghost, ms: q.ghostPainted - last.t, key: last.key };
  });
}

export async function screenshot(page, dir, name) {
  const file = path.join(dir, name);
  await page.screenshot({ path: file });
  log(`screenshot: ${file}`);
  return file;
}

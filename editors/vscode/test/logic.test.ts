import { strict as assert } from "node:assert";
import { describe, it } from "node:test";

import {
  CLIENT_STATES,
  crashMessage,
  explainArguments,
  findOnPath,
  parseStatus,
  resolveServerCommand,
  SERVER_SETTING_KEYS,
  serverSettings,
  statusView,
  type Platform,
  warmsOnSelection,
} from "../src/logic";

function fakeHost(files: string[], env: Record<string, string>, platform = "linux"): Platform {
  const existing = new Set(files);
  return { platform, env, isFile: (file) => existing.has(file) };
}

describe("serverSettings", () => {
  it("passes the server's keys that are set, and nothing else", () => {
    const values: Record<string, unknown> = {
      enable: false,
      serverUrl: "http://gpu:8080",
      maxNewTokens: 32,
      "server.command": ["quill", "serve"],
    };
    assert.deepEqual(
      serverSettings((key) => values[key]),
      { enable: false, serverUrl: "http://gpu:8080", maxNewTokens: 32 },
    );
  });

  it("knows every setting of server/quill/settings.py", () => {
    assert.deepEqual([...SERVER_SETTING_KEYS].sort(), [
      "apiToken",
      "backend",
      "caBundle",
      "coldPromptTokens",
      "completionItems",
      "deadlineMs",
      "debounceMs",
      "enable",
      "fimOrder",
      "hostModel",
      "hoverDeadlineMs",
      "hoverExplain",
      "lookAhead",
      "maxNewTokens",
      "maxPrefixChars",
      "maxSuffixChars",
      "model",
      "predictMs",
      "promptFormat",
      "promptTokens",
      "serverUrl",
      "suggestions",
      "temperature",
      "tokenizerFile",
      "workspaceIndex",
    ]);
  });
});

describe("statusView", () => {
  it("shows each server state", () => {
    assert.equal(statusView("ready").text, "$(sparkle) Quill");
    assert.equal(statusView("working").text, "$(loading~spin) Quill");
    assert.equal(statusView("disabled").text, "$(circle-slash) Quill");
    assert.equal(statusView("ready").isError, false);
  });

  it("puts an error's message in the tooltip", () => {
    const view = statusView("error", "the model server at http://x is not reachable");
    assert.equal(view.text, "$(error) Quill");
    assert.equal(view.isError, true);
    assert.match(view.tooltip, /not reachable/);
  });
});

describe("a crashed server", () => {
  it("is an error, distinct from every other state", () => {
    const view = statusView("crashed", crashMessage({ restart: true }));
    assert.equal(view.text, "$(warning) Quill");
    assert.equal(view.isError, true);
    assert.equal(view.tooltip, "Quill: the server crashed\nRestarting it…");
    const texts = CLIENT_STATES.map((state) => `${statusView(state).text} ${statusView(state).tooltip}`);
    assert.equal(new Set(texts).size, CLIENT_STATES.length);
    assert.ok(CLIENT_STATES.includes("crashed"));
  });

  it("tells what to do when it is not restarted", () => {
    const message = crashMessage({ restart: false, message: "The Quill server crashed 5 times." });
    assert.match(message, /^The Quill server crashed 5 times\. /);
    assert.match(message, /Quill: Restart Server/);
    assert.match(crashMessage({ restart: false }), /will not be restarted/);
  });
});

describe("parseStatus", () => {
  it("accepts the server's notification", () => {
    assert.deepEqual(parseStatus({ state: "working" }), { state: "working" });
    assert.deepEqual(parseStatus({ state: "warming" }), { state: "warming" });
    assert.deepEqual(parseStatus({ state: "error", message: "down" }), {
      state: "error",
      message: "down",
    });
  });

  it("rejects anything else", () => {
    assert.equal(parseStatus(null), undefined);
    assert.equal(parseStatus({ state: "sleeping" }), undefined);
    assert.equal(parseStatus("ready"), undefined);
  });
});

describe("resolveServerCommand", () => {
  const env = { PATH: "/usr/local/bin:/usr/bin" };

  it("prefers the configured command", () => {
    const host = fakeHost(["/usr/bin/quill"], env);
    assert.deepEqual(resolveServerCommand(["/opt/quill/bin/quill", "serve", "--tcp", "x"], host), {
      command: "/opt/quill/bin/quill",
      args: ["serve", "--tcp", "x"],
      source: "setting",
    });
  });

  it("then the quill on PATH", () => {
    const host = fakeHost(["/usr/bin/quill", "/usr/bin/python3"], env);
    assert.deepEqual(resolveServerCommand([], host), {
      command: "/usr/bin/quill",
      args: ["serve"],
      source: "quill on PATH",
    });
  });

  it("then python -m quill serve", () => {
    const host = fakeHost(["/usr/bin/python3"], env);
    assert.deepEqual(resolveServerCommand(undefined, host), {
      command: "/usr/bin/python3",
      args: ["-m", "quill", "serve"],
      source: "python on PATH",
    });
  });

  it("is undefined with nothing to run", () => {
    assert.equal(resolveServerCommand([""], fakeHost([], env)), undefined);
  });

  it("finds Windows executables by PATHEXT", () => {
    const host = fakeHost(
      ["C:\\Py\\Scripts\\quill.exe"],
      { Path: "C:\\Windows;C:\\Py\\Scripts", PATHEXT: ".COM;.EXE" },
      "win32",
    );
    assert.equal(findOnPath("quill", host), "C:\\Py\\Scripts\\quill.exe");
  });
});

describe("explainArguments", () => {
  const at = { line: 3, character: 4 };
  it("sends the selection when there is one", () => {
    const selection = { start: { line: 1, character: 0 }, end: { line: 5, character: 0 } };
    assert.deepEqual(explainArguments("file:///a.py", at, selection), {
      uri: "file:///a.py",
      position: at,
      range: selection,
      display: "client",
    });
  });
  it("sends only the position for an empty selection", () => {
    assert.deepEqual(explainArguments("file:///a.py", at, { start: at, end: at }), {
      uri: "file:///a.py",
      position: at,
      display: "client",
    });
  });
});

describe("warmsOnSelection", () => {
  it("warms where a click or a jump puts the cursor, not while typing or arrowing", () => {
    assert.equal(warmsOnSelection(2), true); // Mouse
    assert.equal(warmsOnSelection(3), true); // Command: go to definition, a search
    assert.equal(warmsOnSelection(1), false); // Keyboard
    assert.equal(warmsOnSelection(undefined), false); // an edit
  });
});

// The extension's own logic, as pure functions: no `vscode` import, so it is tested with
// node's test runner, without a VS Code binary. All Quill logic proper lives in the server.

import * as path from "node:path";

/** The server's settings (server/quill/settings.py), under `quill.*` in VS Code. */
export const SERVER_SETTING_KEYS = [
  "enable",
  "serverUrl",
  "hostModel",
  "backend",
  "model",
  "tokenizerFile",
  "apiToken",
  "caBundle",
  "promptFormat",
  "fimOrder",
  "promptTokens",
  "coldPromptTokens",
  "workspaceIndex",
  "maxNewTokens",
  "predictMs",
  "suggestions",
  "lookAhead",
  "temperature",
  "debounceMs",
  "deadlineMs",
  "maxPrefixChars",
  "maxSuffixChars",
  "completionItems",
  "hoverExplain",
  "hoverDeadlineMs",
] as const;

export type ServerSettingKey = (typeof SERVER_SETTING_KEYS)[number];
export type ServerSettings = Partial<Record<ServerSettingKey, unknown>>;

/**
 * What the server gets as `initializationOptions` and in `workspace/didChangeConfiguration`:
 * only the keys it knows (it rejects unknown ones), and only those that are set, so the
 * server's defaults stay the single source of truth.
 */
export function serverSettings(get: (key: ServerSettingKey) => unknown): ServerSettings {
  const settings: ServerSettings = {};
  for (const key of SERVER_SETTING_KEYS) {
    const value = get(key);
    if (value !== undefined && value !== null) {
      settings[key] = value;
    }
  }
  return settings;
}

/** The states of the server's `quill/status` notification, plus the client's own. */
export type ServerState = "ready" | "working" | "warming" | "error" | "disabled";
const SERVER_STATES: readonly string[] = ["ready", "working", "warming", "error", "disabled"];
/**
 * The client's own states: "starting" until the server's first `quill/status`, "stopped" when
 * it was stopped on purpose (or never started), "crashed" when its process exited on its own
 * (the tooltip says whether it is being restarted).
 */
export type ClientState = ServerState | "starting" | "stopped" | "crashed";

export interface StatusParams {
  state: ServerState;
  message?: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
  isError: boolean;
}

const STATUS_TEXT: Record<ClientState, [icon: string, tooltip: string]> = {
  ready: ["$(sparkle)", "Quill: ready"],
  working: ["$(loading~spin)", "Quill: asking the model…"],
  warming: ["$(sync~spin)", "Quill: the model is loading…"],
  error: ["$(error)", "Quill: the model server failed"],
  disabled: ["$(circle-slash)", "Quill: suggestions are off"],
  starting: ["$(sync~spin)", "Quill: starting the server…"],
  stopped: ["$(debug-disconnect)", "Quill: the server is not running"],
  crashed: ["$(warning)", "Quill: the server crashed"],
};

/** Every state the status bar item can show, for tests that read it back from the screen. */
export const CLIENT_STATES = Object.keys(STATUS_TEXT) as readonly ClientState[];

/** The status bar item for a state; the server's message, if any, becomes the tooltip. */
export function statusView(state: ClientState, message?: string): StatusView {
  const [icon, tooltip] = STATUS_TEXT[state] ?? STATUS_TEXT.error;
  return {
    text: `${icon} Quill`,
    tooltip: message ? `${tooltip}\n${message}` : tooltip,
    isError: state === "error" || state === "stopped" || state === "crashed",
  };
}

/** Accepts the params of `quill/status`; anything malformed is `undefined`. */
export function parseStatus(params: unknown): StatusParams | undefined {
  if (typeof params !== "object" || params === null) {
    return undefined;
  }
  const { state, message } = params as Record<string, unknown>;
  if (typeof state !== "string" || !SERVER_STATES.includes(state)) {
    return undefined;
  }
  const known = state as ServerState;
  return typeof message === "string" ? { state: known, message } : { state: known };
}

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where the command came from, for the output channel. */
  source: "setting" | "quill on PATH" | "python on PATH";
}

export interface Platform {
  /** `process.platform` */
  platform: string;
  env: Record<string, string | undefined>;
  /** Whether `file` exists and is a file (injected: tests use a fake file system). */
  isFile: (file: string) => boolean;
}

/** The first `name` on PATH (with PATHEXT on Windows), like `which`. */
export function findOnPath(name: string, host: Platform): string | undefined {
  const windows = host.platform === "win32";
  const join = windows ? path.win32.join : path.posix.join;
  const pathVar = host.env.PATH ?? host.env.Path ?? "";
  const extensions = windows ? (host.env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of pathVar.split(windows ? ";" : ":")) {
    if (!dir) {
      continue;
    }
    for (const extension of extensions) {
      const candidate = join(dir, name + extension.toLowerCase());
      if (host.isFile(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/**
 * How to start `quill serve`: the `quill.server.command` setting if given, else the `quill`
 * on PATH, else `python -m quill serve` with the first Python found on PATH.
 */
export function resolveServerCommand(
  configured: readonly string[] | undefined,
  host: Platform,
): ServerCommand | undefined {
  const setting = (configured ?? []).filter((part) => part.trim() !== "");
  if (setting.length > 0) {
    return { command: setting[0], args: setting.slice(1), source: "setting" };
  }
  const quill = findOnPath("quill", host);
  if (quill) {
    return { command: quill, args: ["serve"], source: "quill on PATH" };
  }
  const pythons = host.platform === "win32" ? ["python", "py"] : ["python3", "python"];
  for (const name of pythons) {
    const python = findOnPath(name, host);
    if (python) {
      return { command: python, args: ["-m", "quill", "serve"], source: "python on PATH" };
    }
  }
  return undefined;
}

/** What the language client decided when the server's process exited on its own. */
export interface CrashDecision {
  restart: boolean;
  /** The client's own words, e.g. that it crashed too often to be restarted. */
  message?: string;
}

/**
 * The status bar message for a crash: a restart is on its way, or it is not and the user has
 * to act (a person who sees no more suggestions needs to know why, and what to do).
 */
export function crashMessage(decision: CrashDecision): string {
  if (decision.restart) {
    return "Restarting it…";
  }
  const reason = decision.message ?? "It will not be restarted.";
  return `${reason} Run "Quill: Restart Server" once it is fixed; "Quill: Show Output" has its log.`;
}

/** An LSP position or range, as the server's `quill.explain` command takes it. */
export interface LspPosition {
  line: number;
  character: number;
}

/**
 * The argument of `quill.explain`: the selection when there is one, else the symbol at the
 * cursor; `display: "client"` because the extension shows the Markdown itself.
 */
export function explainArguments(
  uri: string,
  active: LspPosition,
  selection?: { start: LspPosition; end: LspPosition },
): { uri: string; position: LspPosition; range?: { start: LspPosition; end: LspPosition }; display: "client" } {
  const empty =
    !selection ||
    (selection.start.line === selection.end.line && selection.start.character === selection.end.character);
  return empty
    ? { uri, position: active, display: "client" }
    : { uri, position: active, range: selection, display: "client" };
}

/**
 * Whether a cursor move says where typing will start: a click or a jump (go to definition, a
 * search) does; typing and arrow keys do not (typing asks for suggestions itself).
 * `kind` is VS Code's `TextEditorSelectionChangeKind` (1 Keyboard, 2 Mouse, 3 Command), or
 * `undefined` for an edit.
 */
export function warmsOnSelection(kind: number | undefined): boolean {
  return kind === 2 || kind === 3;
}

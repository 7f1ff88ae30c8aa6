// The VS Code client: starts `quill serve`, passes the `quill.*` settings, shows the
// server's `quill/status` in the status bar. Everything else is the server's job.

import * as fs from "node:fs";
import * as vscode from "vscode";
import {
  CloseAction,
  type CloseHandlerResult,
  DidChangeConfigurationNotification,
  type ErrorHandler,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

import {
  type ClientState,
  crashMessage,
  explainArguments,
  type LspPosition,
  parseStatus,
  resolveServerCommand,
  serverSettings,
  statusView,
  warmsOnSelection,
} from "./logic";

const SECTION = "quill";
// The documents the server is sent (its documentSelector).
const SYNCED_SCHEMES = ["file", "untitled"];

let client: LanguageClient | undefined;
let statusItem: vscode.StatusBarItem;
let output: vscode.LogOutputChannel;

function currentSettings(): ReturnType<typeof serverSettings> {
  const config = vscode.workspace.getConfiguration(SECTION);
  return serverSettings((key) => config.get(key));
}

function showStatus(state: ClientState, message?: string): void {
  const view = statusView(state, message);
  statusItem.text = view.text;
  statusItem.tooltip = view.tooltip;
  statusItem.backgroundColor = view.isError
    ? new vscode.ThemeColor("statusBarItem.errorBackground")
    : undefined;
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function createClient(): LanguageClient | undefined {
  const configured = vscode.workspace.getConfiguration(SECTION).get<string[]>("server.command");
  const resolved = resolveServerCommand(configured, {
    platform: process.platform,
    env: process.env,
    isFile,
  });
  if (resolved === undefined) {
    const message =
      "Quill: found no `quill` or Python on PATH. Install Quill (pip install quill-lsp) " +
      "or set quill.server.command.";
    output.error(message);
    showStatus("stopped", message);
    void vscode.window.showErrorMessage(message);
    return undefined;
  }
  output.info(`starting ${resolved.command} ${resolved.args.join(" ")} (${resolved.source})`);
  const serverOptions: ServerOptions = {
    command: resolved.command,
    args: resolved.args,
    transport: TransportKind.stdio,
  };
  // The client's own error handler decides whether to restart a server that exited (up to 4
  // times in 3 minutes); this one only shows that decision, so the status bar never says
  // "ready" for a server that is gone. The new server's first quill/status replaces it.
  let defaultHandler: ErrorHandler | undefined;
  const errorHandler: ErrorHandler = {
    error: (error, message, count) => defaultHandler!.error(error, message, count),
    closed: async (): Promise<CloseHandlerResult> => {
      const result = await defaultHandler!.closed();
      const restart = result.action === CloseAction.Restart;
      const text = crashMessage({ restart, message: result.message });
      output.warn(`the server exited: ${text}`);
      showStatus("crashed", text);
      return result;
    },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: SYNCED_SCHEMES.map((scheme) => ({ scheme })),
    errorHandler,
    initializationOptions: currentSettings(),
    outputChannel: output,
    middleware: {
      workspace: {
        // The server pulls section "quill": answer with its keys only (not server.command).
        configuration: (params, token, next) =>
          params.items.map((item) =>
            item.section === SECTION ? currentSettings() : next({ items: [item] }, token),
          ),
      },
    },
  };
  const created = new LanguageClient("quill", "Quill", serverOptions, clientOptions);
  defaultHandler = created.createDefaultErrorHandler();
  created.onNotification("quill/status", (params: unknown) => {
    const status = parseStatus(params);
    if (status) {
      showStatus(status.state, status.message);
    }
  });
  return created;
}

// Where typing will start, sent once the cursor has rested this long: the server warms the
// model's cache there, so the first suggestion in a file does not wait for the whole file.
const WARM_AFTER_MS = 300;
let warmTimer: ReturnType<typeof setTimeout> | undefined;

function warmWhereTypingStarts(editor: vscode.TextEditor | undefined): void {
  clearTimeout(warmTimer);
  if (!editor || !SYNCED_SCHEMES.includes(editor.document.uri.scheme)) {
    return; // the server knows only the documents the client syncs (an output panel is none)
  }
  warmTimer = setTimeout(() => {
    const running = client;
    if (!running?.isRunning()) {
      return;
    }
    const position = editor.selection.active;
    running
      .sendRequest(ExecuteCommandRequest.type, {
        command: "quill.warmAt",
        arguments: [
          {
            uri: editor.document.uri.toString(),
            position: { line: position.line, character: position.character },
          },
        ],
      })
      .catch((error: unknown) => output.debug(`not warmed: ${String(error)}`));
  }, WARM_AFTER_MS);
}

async function start(): Promise<void> {
  client = createClient();
  if (!client) {
    return;
  }
  showStatus("starting");
  try {
    await client.start();
    warmWhereTypingStarts(vscode.window.activeTextEditor);
  } catch (error) {
    output.error(`the server did not start: ${String(error)}`);
    showStatus("stopped", String(error));
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop();
  }
  showStatus("stopped");
}

async function setEnabled(enable: boolean): Promise<void> {
  await vscode.workspace
    .getConfiguration(SECTION)
    .update("enable", enable, vscode.ConfigurationTarget.Global);
}

async function showLastPrompt(): Promise<void> {
  if (!client) {
    void vscode.window.showWarningMessage("Quill: the server is not running.");
    return;
  }
  const prompt = (await client.sendRequest(ExecuteCommandRequest.type, {
    command: "quill.lastPrompt",
    arguments: [],
  })) as { text: string; stop: string[] } | null;
  if (!prompt) {
    void vscode.window.showInformationMessage("Quill: no suggestion has been made yet.");
    return;
  }
  const document = await vscode.workspace.openTextDocument({ content: prompt.text });
  await vscode.window.showTextDocument(document, { preview: true });
}

async function explain(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!client || !editor) {
    void vscode.window.showWarningMessage("Quill: open a file with the server running to explain code.");
    return;
  }
  const toLsp = (position: vscode.Position): LspPosition => ({
    line: position.line,
    character: position.character,
  });
  const selection = editor.selection;
  const argument = explainArguments(editor.document.uri.toString(), toLsp(selection.active), {
    start: toLsp(selection.start),
    end: toLsp(selection.end),
  });
  const markdown = (await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: "Quill: explaining…", cancellable: false },
    () =>
      client!.sendRequest(ExecuteCommandRequest.type, {
        command: "quill.explain",
        arguments: [argument],
      }),
  )) as string;
  const document = await vscode.workspace.openTextDocument({ language: "markdown", content: markdown });
  await vscode.commands.executeCommand("markdown.showPreviewToSide", document.uri);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Quill", { log: true });
  statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  statusItem.command = "quill.showOutput";
  statusItem.show();
  context.subscriptions.push(
    output,
    statusItem,
    vscode.commands.registerCommand("quill.enable", () => setEnabled(true)),
    vscode.commands.registerCommand("quill.disable", () => setEnabled(false)),
    vscode.commands.registerCommand("quill.restart", async () => {
      await stop();
      await start();
    }),
    vscode.commands.registerCommand("quill.showLastPrompt", showLastPrompt),
    vscode.commands.registerCommand("quill.showOutput", () => output.show()),
    // Not "quill.explain": that is the server's command, which vscode-languageclient registers
    // as a VS Code command of the same name (a second registration fails the client's start).
    vscode.commands.registerCommand("quill.explainSelection", explain),
    // A document that becomes active, and a cursor placed by a click or a jump (not by
    // typing, which asks for suggestions itself).
    vscode.window.onDidChangeActiveTextEditor(warmWhereTypingStarts),
    vscode.window.onDidChangeTextEditorSelection((event) => {
      if (warmsOnSelection(event.kind)) {
        warmWhereTypingStarts(event.textEditor);
      }
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration(`${SECTION}.server`)) {
        await stop();
        await start();
      } else if (event.affectsConfiguration(SECTION) && client) {
        await client.sendNotification(DidChangeConfigurationNotification.type, {
          settings: { [SECTION]: currentSettings() },
        });
      }
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

--- Quill for Neovim 0.11+: a thin client of `quill serve`.
---
--- require("quill").setup({ settings = { serverUrl = "http://gpu-box:8080" } })
---
--- Suggestions are ghost text: through `vim.lsp.inline_completion` where Neovim has it
--- (0.12), else drawn by the plugin itself (`quill.ghost`, Neovim 0.11). Completion items
--- through `vim.lsp.completion` on request (`completion = true`). All logic is in the server.

local M = {}

---@class quill.Keys insert-mode keys; false leaves a key unmapped. Each does what the key
--- normally does when no suggestion is shown (next/prev ask for one).
---@field accept? string|false accept the whole suggestion
---@field accept_word? string|false accept its next word (plugin ghost text only)
---@field accept_line? string|false accept the rest of its line (plugin ghost text only)
---@field next? string|false show the next suggestion
---@field prev? string|false show the previous suggestion
---@field dismiss? string|false hide the suggestion (plugin ghost text only)

---@class quill.Options
---@field cmd? string[] how to start the server; default `quill serve`, else `python3 -m quill serve`
---@field filetypes? string[] where to attach; nil attaches to every filetype
---@field root_markers? string[]
---@field settings? table the server's settings (camelCase, as in the README): serverUrl, enable, …
---@field inline? boolean|"plugin" ghost text: true uses vim.lsp.inline_completion where Neovim has it (0.12) and the plugin's own elsewhere; "plugin" always the plugin's own; false none
---@field debounce_ms? integer the plugin's ghost text: pause in typing before a suggestion is asked for
---@field completion? boolean also completion items through vim.lsp.completion (asks the server for them: completionItems = "on")
---@field keys? quill.Keys
---@field keymap? string|false insert-mode key that asks for a suggestion now
---@field accept_keymap? string|false the old name of keys.accept
---@field action_keymap? string|false normal/visual key listing Quill's code actions
---@field explain_keymap? string|false normal/visual key explaining the symbol or selection
M.defaults = {
  cmd = nil,
  filetypes = nil,
  root_markers = { ".git", "pyproject.toml", "package.json" },
  settings = {},
  inline = true,
  debounce_ms = 75,
  completion = false,
  keys = {
    accept = "<Tab>",
    accept_word = "<M-Right>",
    accept_line = "<M-C-Right>",
    next = "<M-]>",
    prev = "<M-[>",
    dismiss = "<C-]>",
  },
  keymap = "<C-Space>",
  action_keymap = "<leader>qa",
  explain_keymap = "<leader>qe",
}

--- A table sent as a JSON object even when empty (vim.json writes `{}` as `[]`, which
--- is no settings object).
---@param t table
---@return table
local function json_object(t)
  return next(t) == nil and vim.empty_dict() or t
end

--- The options given to the last `setup()` (nil before it).
---@type quill.Options|nil
M.options = nil

--- The last `quill/status` the server sent: { state = "ready"|"working"|"warming"|"error"|"disabled", message? }.
---@type table|nil
M.status = nil

--- `quill serve` if `quill` is on PATH, else the first Python's `-m quill serve`.
---@return string[]
function M.default_cmd()
  if vim.fn.executable("quill") == 1 then
    return { "quill", "serve" }
  end
  for _, python in ipairs({ "python3", "python" }) do
    if vim.fn.executable(python) == 1 then
      return { python, "-m", "quill", "serve" }
    end
  end
  return { "quill", "serve" } -- fails visibly; :checkhealth quill says why
end

--- Whether this Neovim has LSP 3.18 inline completion (ghost text): 0.12 and later.
function M.has_inline_completion()
  return vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.enable ~= nil
end

--- Who draws the ghost text with the current options: "builtin" (vim.lsp.inline_completion),
--- "plugin" (quill.ghost) or nil (no ghost text).
---@return "builtin"|"plugin"|nil
function M.ghost_text_engine()
  local inline = (M.options or M.defaults).inline
  if inline == "plugin" or (inline and not M.has_inline_completion()) then
    return "plugin"
  end
  return inline and "builtin" or nil
end

--- The running Quill clients (of one buffer, if given).
---@param bufnr? integer
function M.clients(bufnr)
  return vim.lsp.get_clients({ name = "quill", bufnr = bufnr })
end

--- Send changed settings to every running Quill server (they are laid over the initial ones).
---@param changed table
function M.update_settings(changed)
  M.options.settings = vim.tbl_extend("force", M.options.settings, changed)
  for _, client in ipairs(M.clients()) do
    client.settings = { quill = json_object(M.options.settings) }
    client:notify("workspace/didChangeConfiguration", { settings = { quill = changed } })
  end
end

--- Quill's code actions at the cursor or selection (listed at once; the model writes the
--- chosen one's edit, resolved lazily).
---@param opts? table passed to vim.lsp.buf.code_action (e.g. { apply = true, filter = … })
function M.code_action(opts)
  opts = opts or {}
  local filter = opts.filter
  opts.filter = function(action, client_id)
    local client = client_id and vim.lsp.get_client_by_id(client_id)
    if client_id and (not client or client.name ~= "quill") then
      return false
    end
    return filter == nil or filter(action, client_id)
  end
  vim.lsp.buf.code_action(opts)
end

--- The LSP range of the visual selection (nil outside visual mode).
local function visual_range(bufnr, encoding)
  local mode = vim.fn.mode()
  if mode ~= "v" and mode ~= "V" and mode ~= "\22" then
    return nil
  end
  local first, last = vim.fn.getpos("v"), vim.fn.getpos(".")
  if first[2] > last[2] or (first[2] == last[2] and first[3] > last[3]) then
    first, last = last, first
  end
  local last_line = vim.api.nvim_buf_get_lines(bufnr, last[2] - 1, last[2], true)[1]
  local end_col = mode == "V" and #last_line or math.min(last[3], #last_line)
  local first_line = vim.api.nvim_buf_get_lines(bufnr, first[2] - 1, first[2], true)[1]
  local start_col = mode == "V" and 0 or first[3] - 1
  return {
    start = { line = first[2] - 1, character = vim.str_utfindex(first_line, encoding, start_col) },
    ["end"] = { line = last[2] - 1, character = vim.str_utfindex(last_line, encoding, end_col) },
  }
end

--- Ask the server to explain the selection (visual mode) or the symbol at the cursor; the
--- Markdown answer is shown in a floating window. `callback(err, markdown)` if given.
---@param callback? fun(err: table|nil, markdown: string|nil)
function M.explain(callback)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.clients(bufnr)[1]
  if not client then
    vim.notify("Quill: the server is not attached to this buffer", vim.log.levels.WARN)
    return
  end
  local position = vim.lsp.util.make_position_params(0, client.offset_encoding).position
  local argument = {
    uri = vim.uri_from_bufnr(bufnr),
    position = position,
    range = visual_range(bufnr, client.offset_encoding),
    display = "client",
  }
  client:request("workspace/executeCommand", { command = "quill.explain", arguments = { argument } }, function(err, markdown)
    if callback then
      callback(err, markdown)
    elseif err then
      vim.notify("Quill: " .. err.message, vim.log.levels.ERROR)
    else
      vim.lsp.util.open_floating_preview(vim.split(markdown, "\n", { plain = true }), "markdown", { border = "rounded" })
    end
  end, bufnr)
end

--- The client side of `quill.applyAction` (actions run as commands: the custom instruction
--- is asked for here, then the server computes the edit and sends workspace/applyEdit).
local function apply_action(command, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if not client then
    return
  end
  local data = command.arguments[1]
  local function run(instruction)
    client:request("workspace/executeCommand", {
      command = "quill.applyAction",
      arguments = { data, instruction or "" },
    }, function(err)
      if err then
        vim.notify("Quill: " .. err.message, vim.log.levels.ERROR)
      end
    end, ctx.bufnr)
  end
  if data.kind == "custom" and (data.instruction or "") == "" then
    vim.ui.input({ prompt = "Quill instruction: " }, function(instruction)
      if instruction and instruction ~= "" then
        run(instruction)
      end
    end)
  else
    run()
  end
end

--- An insert-mode key that runs `action` (a Lua expression, run as a <Cmd>: an expression
--- mapping may not change the buffer) when `when()` holds, and is itself (its usual
--- meaning) otherwise.
---@param bufnr integer
---@param lhs string|false|nil
---@param action string
---@param desc string
---@param when fun(): boolean
---@param undo_step? boolean <C-G>u on both sides: what the action inserts is one undo step
local function map_key(bufnr, lhs, action, desc, when, undo_step)
  if not lhs then
    return
  end
  local run = "<Cmd>lua " .. action .. "<CR>"
  if undo_step then
    run = "<C-G>u" .. run .. "<C-G>u"
  end
  vim.keymap.set("i", lhs, function()
    if when() then
      return run
    end
    return lhs
  end, { buffer = bufnr, expr = true, desc = desc })
end

--- The plugin's own ghost text (Neovim 0.11, or inline = "plugin"), and its keys.
---@param client vim.lsp.Client
---@param bufnr integer
local function attach_ghost_text(client, bufnr)
  local ghost = require("quill.ghost")
  ghost.config.debounce_ms = M.options.debounce_ms
  ghost.attach(bufnr, client.id)
  local keys = M.options.keys
  local function shown()
    return ghost.visible(bufnr)
  end
  local function always()
    return true
  end
  local g = "require('quill.ghost')."
  map_key(bufnr, keys.accept, g .. "accept('all')", "Quill: accept the suggestion", shown, true)
  map_key(bufnr, keys.accept_word, g .. "accept('word')", "Quill: accept the next word", shown, true)
  map_key(bufnr, keys.accept_line, g .. "accept('line')", "Quill: accept the next line", shown, true)
  map_key(bufnr, keys.next, g .. "cycle(1)", "Quill: next suggestion", always)
  map_key(bufnr, keys.prev, g .. "cycle(-1)", "Quill: previous suggestion", always)
  map_key(bufnr, keys.dismiss, g .. "dismiss()", "Quill: dismiss the suggestion", shown)
end

--- Neovim 0.12's own ghost text, and the keys it has functions for.
---@param bufnr integer
local function attach_builtin_inline(bufnr)
  local inline = vim.lsp.inline_completion
  inline.enable(true, { bufnr = bufnr })
  local keys = M.options.keys
  if keys.accept then
    vim.keymap.set("i", keys.accept, function()
      if not inline.get() then
        return keys.accept
      end
    end, { buffer = bufnr, expr = true, desc = "Quill: accept the suggestion" })
  end
  for key, count in pairs({ next = 1, prev = -1 }) do
    if keys[key] then
      vim.keymap.set("i", keys[key], function()
        inline.select({ count = count })
      end, { buffer = bufnr, desc = "Quill: " .. (count > 0 and "next" or "previous") .. " suggestion" })
    end
  end
end

--- Tell the server where typing will start in this buffer (it became current, or the cursor
--- rested in normal mode), so the model's cache is warm there before the first key: the
--- first suggestion in a file then does not wait for the whole file.
---@param client vim.lsp.Client
---@param bufnr integer
local function warm_where_typing_starts(client, bufnr)
  if client:is_stopped() or vim.api.nvim_get_current_buf() ~= bufnr then
    return
  end
  local argument = {
    uri = vim.uri_from_bufnr(bufnr),
    position = vim.lsp.util.make_position_params(0, client.offset_encoding).position,
  }
  client:request("workspace/executeCommand", { command = "quill.warmAt", arguments = { argument } }, function() end, bufnr)
end

---@param client vim.lsp.Client
---@param bufnr integer
local function on_attach(client, bufnr)
  local opts = M.options
  vim.api.nvim_create_autocmd({ "BufEnter", "CursorHold" }, {
    group = vim.api.nvim_create_augroup("quill.warm." .. bufnr, { clear = true }),
    buffer = bufnr,
    callback = function()
      warm_where_typing_starts(client, bufnr)
    end,
  })
  vim.schedule(function()
    warm_where_typing_starts(client, bufnr)
  end)
  if opts.action_keymap then
    vim.keymap.set({ "n", "x" }, opts.action_keymap, M.code_action, { buffer = bufnr, desc = "Quill: code actions" })
  end
  if opts.explain_keymap then
    vim.keymap.set({ "n", "x" }, opts.explain_keymap, function()
      M.explain()
    end, { buffer = bufnr, desc = "Quill: explain" })
  end
  local engine = M.ghost_text_engine()
  if engine == "plugin" then
    attach_ghost_text(client, bufnr)
  elseif engine == "builtin" then
    attach_builtin_inline(bufnr)
  end
  if opts.completion then
    vim.lsp.completion.enable(true, client.id, bufnr, { autotrigger = true })
  end
  if opts.keymap and (engine == "plugin" or opts.completion) then
    vim.keymap.set("i", opts.keymap, function()
      if engine == "plugin" then
        require("quill.ghost").trigger_now(bufnr)
      else
        vim.lsp.completion.get()
      end
    end, { buffer = bufnr, desc = "Quill: suggest now" })
  end
end

local function show_last_prompt()
  local client = M.clients()[1]
  if not client then
    vim.notify("Quill: the server is not running", vim.log.levels.WARN)
    return
  end
  client:request("workspace/executeCommand", { command = "quill.lastPrompt", arguments = {} }, function(err, prompt)
    if err then
      vim.notify("Quill: " .. err.message, vim.log.levels.ERROR)
    elseif prompt == nil or prompt == vim.NIL then
      vim.notify("Quill: no suggestion has been made yet")
    else
      vim.cmd("new")
      vim.bo.buftype = "nofile"
      vim.bo.bufhidden = "wipe"
      vim.api.nvim_buf_set_lines(0, 0, -1, false, vim.split(prompt.text, "\n", { plain = true }))
    end
  end)
end

local function create_commands()
  local command = vim.api.nvim_create_user_command
  command("QuillEnable", function()
    M.update_settings({ enable = true })
  end, { desc = "Quill: turn suggestions on" })
  command("QuillDisable", function()
    M.update_settings({ enable = false })
  end, { desc = "Quill: turn suggestions off" })
  command("QuillRestart", function()
    for _, client in ipairs(M.clients()) do
      client:stop()
    end
    vim.defer_fn(function()
      vim.lsp.enable("quill", false)
      vim.lsp.enable("quill")
    end, 500)
  end, { desc = "Quill: restart the server" })
  command("QuillLastPrompt", show_last_prompt, { desc = "Quill: show the prompt behind the last suggestion" })
  command("QuillActions", function()
    M.code_action()
  end, { desc = "Quill: code actions at the cursor" })
  command("QuillExplain", function()
    M.explain()
  end, { desc = "Quill: explain the symbol at the cursor" })
  command("QuillStatus", function()
    local status = M.status or { state = "not started" }
    print("Quill: " .. status.state .. (status.message and (": " .. status.message) or ""))
  end, { desc = "Quill: what the server is doing" })
end

--- The client capabilities sent to the server: Neovim's own, plus inline completion when
--- there is ghost text (the plugin implements it on 0.11), which tells the server that
--- completion items are not needed to show a suggestion.
---@return lsp.ClientCapabilities
function M.capabilities()
  local capabilities = vim.lsp.protocol.make_client_capabilities()
  if M.ghost_text_engine() then
    capabilities.textDocument.inlineCompletion = { dynamicRegistration = false }
  end
  return capabilities
end

---@param opts? quill.Options
function M.setup(opts)
  opts = vim.deepcopy(opts or {})
  if opts.accept_keymap ~= nil then -- the old name, kept working
    opts.keys = vim.tbl_extend("force", { accept = opts.accept_keymap }, opts.keys or {})
  end
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  local options = M.options
  if options.completion and options.settings.completionItems == nil then
    options.settings.completionItems = "on"
  end
  require("quill.ghost").set_highlights()
  vim.api.nvim_create_autocmd("ColorScheme", {
    group = vim.api.nvim_create_augroup("quill.highlights", { clear = true }),
    callback = function()
      require("quill.ghost").set_highlights()
    end,
  })
  vim.lsp.config("quill", {
    cmd = options.cmd or M.default_cmd(),
    filetypes = options.filetypes,
    root_markers = options.root_markers,
    capabilities = M.capabilities(),
    init_options = json_object(options.settings),
    settings = { quill = json_object(options.settings) },
    on_attach = on_attach,
    handlers = {
      ["quill/status"] = function(_, result)
        M.status = result
      end,
    },
  })
  vim.lsp.commands["quill.applyAction"] = apply_action
  vim.lsp.enable("quill")
  create_commands()
end

return M

--- Quill for Neovim 0.11+: a thin client of `quill serve`.
---
--- require("quill").setup({ settings = { serverUrl = "http://gpu-box:8080" } })
---
--- Completions come through `vim.lsp.completion` (Neovim 0.11) and, where Neovim has it
--- (0.12), as ghost text through `vim.lsp.inline_completion`. All logic is in the server.

local M = {}

---@class quill.Options
---@field cmd? string[] how to start the server; default `quill serve`, else `python3 -m quill serve`
---@field filetypes? string[] where to attach; nil attaches to every filetype
---@field root_markers? string[]
---@field settings? table the server's settings (camelCase, as in the README): serverUrl, enable, …
---@field inline? boolean ghost text through vim.lsp.inline_completion where Neovim has it
---@field completion? boolean items through vim.lsp.completion (with autotrigger)
---@field keymap? string|false insert-mode key that asks for a completion now (vim.lsp.completion.get)
---@field accept_keymap? string|false insert-mode key that accepts the ghost text (Neovim 0.12)
M.defaults = {
  cmd = nil,
  filetypes = nil,
  root_markers = { ".git", "pyproject.toml", "package.json" },
  settings = {},
  inline = true,
  completion = true,
  keymap = "<C-Space>",
  accept_keymap = "<M-CR>",
}

--- The options given to the last `setup()` (nil before it).
---@type quill.Options|nil
M.options = nil

--- The last `quill/status` the server sent: { state = "ready"|"working"|"error"|"disabled", message? }.
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
    client.settings = { quill = M.options.settings }
    client:notify("workspace/didChangeConfiguration", { settings = { quill = changed } })
  end
end

local function on_attach(client, bufnr)
  local opts = M.options
  if opts.inline and M.has_inline_completion() then
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
    if opts.accept_keymap then
      vim.keymap.set("i", opts.accept_keymap, function()
        vim.lsp.inline_completion.get()
      end, { buffer = bufnr, desc = "Quill: accept the suggestion" })
    end
  end
  if opts.completion then
    vim.lsp.completion.enable(true, client.id, bufnr, { autotrigger = true })
    if opts.keymap then
      vim.keymap.set("i", opts.keymap, function()
        vim.lsp.completion.get()
      end, { buffer = bufnr, desc = "Quill: complete now" })
    end
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
  command("QuillStatus", function()
    local status = M.status or { state = "not started" }
    print("Quill: " .. status.state .. (status.message and (": " .. status.message) or ""))
  end, { desc = "Quill: what the server is doing" })
end

---@param opts? quill.Options
function M.setup(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  local options = M.options
  vim.lsp.config("quill", {
    cmd = options.cmd or M.default_cmd(),
    filetypes = options.filetypes,
    root_markers = options.root_markers,
    init_options = options.settings,
    settings = { quill = options.settings },
    on_attach = on_attach,
    handlers = {
      ["quill/status"] = function(_, result)
        M.status = result
      end,
    },
  })
  vim.lsp.enable("quill")
  create_commands()
end

return M

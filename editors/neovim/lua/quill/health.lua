--- :checkhealth quill

local M = {}

local health = vim.health

local function check_version()
  if vim.fn.has("nvim-0.11") == 0 then
    health.error("Neovim 0.11 or later is needed (vim.lsp.config / vim.lsp.enable)")
    return
  end
  health.ok("Neovim " .. tostring(vim.version()))
  local engine = require("quill").ghost_text_engine()
  if engine == "builtin" then
    health.ok("ghost text through vim.lsp.inline_completion")
  elseif engine == "plugin" then
    health.ok("ghost text drawn by the plugin (textDocument/inlineCompletion as you type)")
  else
    health.info("no ghost text (inline = false): suggestions only as completion items")
  end
end

local function check_command(cmd)
  if vim.fn.executable(cmd[1]) == 0 then
    health.error(
      "`" .. cmd[1] .. "` is not executable",
      { "pip install 'quill-lsp[host]'", "or pass cmd = { '/path/to/quill', 'serve' } to setup()" }
    )
    return
  end
  health.ok("server command: " .. table.concat(cmd, " "))
  -- `quill serve` → `quill --version`; `python -m quill serve` → `python -m quill --version`.
  local probe = vim.list_slice(cmd, 1, #cmd - 1)
  table.insert(probe, "--version")
  local result = vim.system(probe, { text = true }):wait(20000)
  if result.code == 0 then
    health.ok(vim.trim(result.stdout ~= "" and result.stdout or result.stderr))
  else
    health.error("`" .. table.concat(probe, " ") .. "` failed: " .. vim.trim(result.stderr or ""))
  end
end

local function check_model_server(settings)
  local url = settings.serverUrl
  if url == nil or url == "" then
    health.info("serverUrl is empty: `quill serve` starts the embedded model host")
    return
  end
  if vim.fn.executable("curl") == 0 then
    health.warn("curl not found: cannot check the model server at " .. url)
    return
  end
  local result = vim.system({ "curl", "-fsS", "--max-time", "5", url:gsub("/+$", "") .. "/health" }):wait()
  if result.code == 0 then
    health.ok("model server reachable: " .. url)
  else
    health.error("model server not reachable: " .. url, { vim.trim(result.stderr or "") })
  end
end

local function check_clients(quill)
  local clients = quill.clients()
  if #clients == 0 then
    health.info("no Quill server running yet (it starts with the first matching buffer)")
    return
  end
  health.ok(#clients .. " Quill server(s) running")
  local status = quill.status
  if status and status.state == "error" then
    health.warn("the server reports: " .. (status.message or "error"))
  elseif status then
    health.ok("the server reports: " .. status.state)
  end
end

function M.check()
  local quill = require("quill")
  health.start("quill")
  check_version()
  if quill.options == nil then
    health.warn("require('quill').setup() has not been called", { "call it in your init.lua" })
    return
  end
  check_command(quill.options.cmd or quill.default_cmd())
  check_model_server(quill.options.settings or {})
  check_clients(quill)
end

return M

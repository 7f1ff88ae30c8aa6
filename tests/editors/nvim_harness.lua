-- Shared by the scripts test_neovim.py runs in `nvim --headless --clean`: set Quill up as a
-- user would, open $QUILL_FILE, wait for the server to attach, run the script's checks, and
-- write what they found (or the error that stopped them) to $QUILL_RESULT as JSON; then quit.

local env = vim.env

---@param settings table the server's settings (over serverUrl and a long deadline)
---@param checks fun(quill: table, bufnr: integer, client: vim.lsp.Client, result: table)
---@param options? quill.Options more options for setup()
local function session(settings, checks, options)
  local result = {}
  local function run()
    vim.opt.runtimepath:prepend(env.QUILL_PLUGIN)
    local quill = require("quill")
    quill.setup(vim.tbl_extend("force", options or {}, {
      cmd = { env.QUILL_PYTHON, "-m", "quill", "serve" },
      settings = vim.tbl_extend("force", { serverUrl = env.QUILL_SERVER_URL, deadlineMs = 60000 }, settings),
    }))
    vim.cmd.edit(env.QUILL_FILE)
    result.filetype = vim.bo.filetype
    local bufnr = vim.api.nvim_get_current_buf()
    result.attached = vim.wait(60000, function()
      return #quill.clients(bufnr) > 0 and quill.clients(bufnr)[1].initialized
    end, 50)
    if result.attached then
      checks(quill, bufnr, quill.clients(bufnr)[1], result)
    end
  end
  local ok, err = xpcall(run, debug.traceback)
  if not ok then
    result.error = err
  end
  local file = assert(io.open(env.QUILL_RESULT, "w"))
  file:write(vim.json.encode(result))
  file:close()
  vim.cmd("qall!")
end

return session

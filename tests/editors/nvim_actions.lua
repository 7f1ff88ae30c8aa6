-- Run by test_neovim.py in `nvim --headless --clean`: set Quill up as a user would, open a
-- Python file, list the code actions at a function, apply *Add docstring* through Neovim's
-- own code-action path (resolve + apply), ask for an explanation, and write what happened
-- to $QUILL_RESULT as JSON. Any failure is written there too, then Neovim quits.

local env = vim.env
local result = {}

local function finish()
  local file = assert(io.open(env.QUILL_RESULT, "w"))
  file:write(vim.json.encode(result))
  file:close()
  vim.cmd("qall!")
end

local function run()
  vim.opt.runtimepath:prepend(env.QUILL_PLUGIN)
  local quill = require("quill")
  quill.setup({
    cmd = { env.QUILL_PYTHON, "-m", "quill", "serve" },
    settings = { serverUrl = env.QUILL_SERVER_URL, deadlineMs = 60000 },
  })
  vim.cmd.edit(env.QUILL_FILE)
  local bufnr = vim.api.nvim_get_current_buf()
  local attached = vim.wait(60000, function()
    return #quill.clients(bufnr) > 0 and quill.clients(bufnr)[1].initialized
  end, 50)
  result.attached = attached
  if not attached then
    return
  end
  local client = quill.clients(bufnr)[1]
  result.action_keymap_desc = vim.fn.maparg("<leader>qa", "n", false, true).desc or vim.NIL
  result.explain_keymap_desc = vim.fn.maparg("<leader>qe", "n", false, true).desc or vim.NIL
  result.text_before = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, true), "\n")

  -- The cursor on the name of the function without a docstring.
  vim.api.nvim_win_set_cursor(0, { tonumber(env.QUILL_LINE), 6 })
  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  params.context = { diagnostics = {} }
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", params, 10000)
  local response = responses and responses[client.id]
  if not response or response.err then
    result.error = response and response.err or "no response"
    return
  end
  result.titles = {}
  for _, action in ipairs(response.result) do
    table.insert(result.titles, action.title)
  end

  -- Apply it the way a user does: the plugin's code_action with the one action chosen.
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  quill.code_action({
    apply = true,
    filter = function(action)
      return action.title == "Quill: Add docstring"
    end,
  })
  result.changed = vim.wait(90000, function()
    return vim.api.nvim_buf_get_changedtick(bufnr) ~= tick
  end, 50)
  result.text_after = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, true), "\n")

  local explained = false
  quill.explain(function(err, markdown)
    result.explain_error = err
    result.explanation = markdown
    explained = true
  end)
  vim.wait(90000, function()
    return explained
  end, 50)
end

local ok, err = xpcall(run, debug.traceback)
if not ok then
  result.error = err
end
finish()

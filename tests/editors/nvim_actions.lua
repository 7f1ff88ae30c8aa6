-- Run by test_neovim.py in `nvim --headless --clean`: set Quill up as a user would, open a
-- Python file, list the code actions at a function, apply *Add docstring* through Neovim's
-- own code-action path (resolve + apply) and ask for an explanation (nvim_harness.lua writes
-- what happened to $QUILL_RESULT).

local env = vim.env
local here = vim.fs.dirname(debug.getinfo(1, "S").source:sub(2))
local session = dofile(vim.fs.joinpath(here, "nvim_harness.lua"))

session({}, function(quill, bufnr, client, result)
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
end)

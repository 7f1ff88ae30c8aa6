-- Run by test_neovim.py in `nvim --headless --clean`: set Quill up as a user would who
-- wants completion items too (`completion = true`), open a Python file, ask for a
-- completion at the cursor and apply it (nvim_harness.lua writes what happened to
-- $QUILL_RESULT).

local here = vim.fs.dirname(debug.getinfo(1, "S").source:sub(2))
local session = dofile(vim.fs.joinpath(here, "nvim_harness.lua"))

session({ debounceMs = 0, maxNewTokens = 32 }, function(quill, bufnr, client, result)
  -- on_attach ran: it enabled vim.lsp.completion and mapped the "suggest now" key.
  result.keymap_desc = vim.fn.maparg("<C-Space>", "i", false, true).desc or vim.NIL
  result.completion_items_setting = quill.options.settings.completionItems
  result.offset_encoding = client.offset_encoding
  result.has_completion_provider = client.server_capabilities.completionProvider ~= nil
  result.has_inline_completion_provider = client.server_capabilities.inlineCompletionProvider ~= nil
  result.status_after_start = vim.wait(10000, function()
    return quill.status ~= nil
  end, 50) and quill.status or vim.NIL
  -- The buffer became current: the plugin told the server where typing will start.
  result.places_to_warm = vim.NIL
  vim.wait(10000, function()
    local stats = client:request_sync("workspace/executeCommand", { command = "quill.stats", arguments = {} }, 5000, bufnr)
    result.places_to_warm = stats and stats.result and stats.result.placesToWarm or vim.NIL
    return result.places_to_warm ~= vim.NIL and result.places_to_warm >= 1
  end, 100)

  -- The cursor at the end of the last line, as in insert mode: past the last character,
  -- where normal mode cannot put it.
  local last = vim.api.nvim_buf_line_count(bufnr)
  local line = vim.api.nvim_buf_get_lines(bufnr, last - 1, last, true)[1]
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    position = { line = last - 1, character = vim.str_utfindex(line, client.offset_encoding) },
  }
  result.position = params.position
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/completion", params, 90000)
  local response = responses and responses[client.id]
  if not response or response.err then
    result.error = response and response.err or "no response"
    return
  end
  local items = response.result.items or response.result
  result.items = items
  result.status_after_completion = quill.status

  -- Accept the first item the way a completion menu does: apply its text edit.
  if items[1] and items[1].textEdit then
    vim.lsp.util.apply_text_edits({ items[1].textEdit }, bufnr, client.offset_encoding)
    result.text_after = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, true), "\n")
  end
end, { completion = true })

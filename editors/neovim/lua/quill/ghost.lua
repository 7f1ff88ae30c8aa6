--- Ghost text for Neovim 0.11, which has no `vim.lsp.inline_completion`: the plugin asks
--- `textDocument/inlineCompletion` itself when typing pauses in insert mode and draws the
--- answer with extmarks (the rest of the first line inline, the other lines as virtual
--- lines below it).
---
--- One suggestion per buffer. It is anchored where the cursor was when it was asked for;
--- typing the characters it shows "types through" it (the rest stays, nothing is asked),
--- any other change or cursor move clears it. Accepting inserts its text (or its next word
--- or line) as one undo step and leaves the cursor at the end of what was inserted.
---
--- `User QuillGhostText` fires each time a suggestion is drawn, with data { bufnr, text,
--- source }: source is "answer" (the server's), "typed" (typed through), "accepted" (the
--- rest after a partial accept) or "cycled".

local api = vim.api

local M = {}

--- Where the ghost text's extmarks live (one per buffer at most).
M.ns = api.nvim_create_namespace("quill.ghost")

--- The LSP 3.18 InlineCompletionTriggerKind values.
M.trigger = { invoked = 1, automatic = 2 }

---@class quill.ghost.Config
---@field debounce_ms integer how long typing must pause before a suggestion is asked for
M.config = { debounce_ms = 75 }

---@class quill.ghost.Item
---@field text string what to insert at the anchor
---@field replace_end? integer byte column on the anchor's line up to which accepting replaces text
---@field command? lsp.Command run after the whole item is accepted

---@class quill.ghost.Suggestion
---@field client_id integer
---@field items quill.ghost.Item[]
---@field index integer the item shown
---@field invoked boolean whether the items include an explicit (Invoked) request's answer
---@field row integer 0-based line of the anchor
---@field col integer byte column of the anchor

---@class quill.ghost.Request
---@field client vim.lsp.Client
---@field id integer

---@class quill.ghost.State
---@field client_id integer the Quill client asked for suggestions
---@field augroup integer
---@field timer? uv.uv_timer_t debounce
---@field request? quill.ghost.Request in flight
---@field suggestion? quill.ghost.Suggestion shown
---@field tick integer changedtick of the last change handled
---@field row integer cursor (0-based line) at the last change handled
---@field col integer cursor (byte column) at the last change handled

---@type table<integer, quill.ghost.State>
local states = {}

local function cursor()
  local pos = api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local function in_insert_mode()
  return api.nvim_get_mode().mode:sub(1, 1) == "i"
end

local function line_at(bufnr, row)
  return api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
end

--- The text of the item shown.
---@param suggestion quill.ghost.Suggestion
---@return string
local function shown_text(suggestion)
  return suggestion.items[suggestion.index].text
end

--- Tabs are drawn by virtual text as they are, not as the buffer shows them.
local function display(bufnr, text)
  return (text:gsub("\t", string.rep(" ", vim.bo[bufnr].tabstop)))
end

---@param bufnr integer
---@param source? "answer"|"typed"|"accepted"|"cycled" why it is drawn (nil: cleared)
local function render(bufnr, source)
  api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  local state = states[bufnr]
  local suggestion = state and state.suggestion
  if not suggestion then
    return
  end
  local text = shown_text(suggestion)
  local lines = vim.split(text, "\n", { plain = true })
  local hl = "QuillGhostText"
  local mark = { hl_mode = "combine", virt_text_pos = "inline" }
  local chunks = {}
  if lines[1] ~= "" then
    table.insert(chunks, { display(bufnr, lines[1]), hl })
  end
  if #suggestion.items > 1 then
    table.insert(chunks, { (" (%d/%d)"):format(suggestion.index, #suggestion.items), "QuillGhostTextCount" })
  end
  if #chunks > 0 then
    mark.virt_text = chunks
  end
  if #lines > 1 then
    mark.virt_lines = {}
    for i = 2, #lines do
      table.insert(mark.virt_lines, { { display(bufnr, lines[i]), hl } })
    end
  end
  api.nvim_buf_set_extmark(bufnr, M.ns, suggestion.row, suggestion.col, mark)
  api.nvim_exec_autocmds(
    "User",
    { pattern = "QuillGhostText", data = { bufnr = bufnr, text = text, source = source } }
  )
end

---@param state quill.ghost.State
local function stop_timer(state)
  if state.timer then
    state.timer:stop()
    state.timer:close()
    state.timer = nil
  end
end

---@param state quill.ghost.State
local function cancel_request(state)
  local request = state.request
  if request then
    state.request = nil
    if not request.client:is_stopped() then
      request.client:cancel_request(request.id)
    end
  end
end

--- Clear the ghost text and stop what is pending (the debounce and the request in flight).
---@param bufnr? integer
function M.dismiss(bufnr)
  bufnr = bufnr or api.nvim_get_current_buf()
  local state = states[bufnr]
  if not state then
    return
  end
  stop_timer(state)
  cancel_request(state)
  state.suggestion = nil
  render(bufnr)
end

--- Whether a suggestion is shown in the buffer.
---@param bufnr? integer
---@return boolean
function M.visible(bufnr)
  local state = states[bufnr or api.nvim_get_current_buf()]
  return state ~= nil and state.suggestion ~= nil
end

--- The text of the suggestion shown (nil when none).
---@param bufnr? integer
---@return string|nil
function M.text(bufnr)
  local state = states[bufnr or api.nvim_get_current_buf()]
  return state and state.suggestion and shown_text(state.suggestion) or nil
end

--- Byte column of an LSP position on a line.
local function byte_col(line, character, encoding)
  return vim.str_byteindex(line, encoding, character, false)
end

--- The items of an answer as ghost text at (row, col): plain text only (Quill sends no
--- snippets), an item's range on the cursor's line. Text the range covers before the
--- cursor has been typed already, so it is taken off the front of the item.
---@param result lsp.InlineCompletionList|lsp.InlineCompletionItem[]|nil
---@param bufnr integer
---@param row integer
---@param col integer
---@param encoding string
---@return quill.ghost.Item[]
local function items_of(result, bufnr, row, col, encoding)
  local items = {}
  if type(result) ~= "table" then
    return items
  end
  local line = line_at(bufnr, row)
  for _, item in ipairs(result.items or result) do
    local text = item.insertText
    local range = item.range
    local replace_end
    if type(text) ~= "string" then
      text = nil -- a snippet (lsp.StringValue): not drawn
    elseif range and range ~= vim.NIL then
      if range.start.line ~= row or range["end"].line ~= row then
        text = nil
      else
        local start_col = byte_col(line, range.start.character, encoding)
        local end_col = byte_col(line, range["end"].character, encoding)
        local typed = line:sub(start_col + 1, col)
        if start_col > col or end_col < col or text:sub(1, #typed) ~= typed then
          text = nil
        else
          text = text:sub(#typed + 1)
          replace_end = end_col > col and end_col or nil
        end
      end
    end
    if text and text ~= "" then
      local command = item.command ~= vim.NIL and item.command or nil
      table.insert(items, { text = text, replace_end = replace_end, command = command })
    end
  end
  return items
end

---@param bufnr integer
---@return vim.lsp.Client|nil
local function client_of(bufnr)
  local state = states[bufnr]
  local client = state and vim.lsp.get_client_by_id(state.client_id)
  if client and not client:is_stopped() then
    return client
  end
  return nil
end

--- Ask for a suggestion at the cursor now; `on_items(items)` gets the answer's items
--- (default: show them). An answer that comes after the buffer or the cursor changed is
--- dropped.
---@param bufnr integer
---@param kind integer M.trigger.automatic or M.trigger.invoked
---@param on_items? fun(items: quill.ghost.Item[], client_id: integer)
function M.request(bufnr, kind, on_items)
  local state = states[bufnr]
  local client = client_of(bufnr)
  if not state or not client or not in_insert_mode() or api.nvim_get_current_buf() ~= bufnr then
    return
  end
  stop_timer(state)
  cancel_request(state)
  local row, col = cursor()
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  ---@cast params lsp.InlineCompletionParams
  params.context = { triggerKind = kind }
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local id ---@type integer|nil (the handler below compares it; set when the request is sent)
  local ok
  ok, id = client:request("textDocument/inlineCompletion", params, function(err, result)
    local request = state.request
    if not request or request.id ~= id then
      return -- cancelled or superseded
    end
    state.request = nil
    if err then
      return -- a cancellation the server acknowledged, or a failure it reported itself
    end
    local now_row, now_col = cursor()
    if
      api.nvim_get_current_buf() ~= bufnr
      or not in_insert_mode()
      or api.nvim_buf_get_changedtick(bufnr) ~= tick
      or now_row ~= row
      or now_col ~= col
    then
      return
    end
    local items = items_of(result, bufnr, row, col, client.offset_encoding)
    if on_items then
      on_items(items, client.id)
    elseif #items > 0 then
      state.suggestion =
        { client_id = client.id, items = items, index = 1, invoked = kind == M.trigger.invoked, row = row, col = col }
      render(bufnr, "answer")
    end
  end, bufnr)
  if ok and id then
    state.request = { client = client, id = id }
  end
end

--- Ask for a suggestion once typing has paused for `debounce_ms`; at once at the start
--- of a line (only indentation before the cursor), where a suggestion is most wanted and
--- the server does not wait either: a key typed next cancels it.
---@param bufnr integer
local function schedule(bufnr)
  local state = states[bufnr]
  stop_timer(state)
  cancel_request(state)
  local row, col = cursor()
  local at_line_start = line_at(bufnr, row):sub(1, col):match("^%s*$") ~= nil
  local timer = assert(vim.uv.new_timer())
  state.timer = timer
  timer:start(
    at_line_start and 0 or M.config.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if state.timer == timer then
        stop_timer(state)
        M.request(bufnr, M.trigger.automatic)
      end
    end)
  )
end

--- What was typed since the suggestion was anchored, if it is the start of the ghost
--- text (nil when the cursor left the anchor's line or typed something else).
---@param bufnr integer
---@param suggestion quill.ghost.Suggestion
---@return string|nil
local function typed_through(bufnr, suggestion)
  local row, col = cursor()
  if row ~= suggestion.row or col < suggestion.col then
    return nil
  end
  local typed = line_at(bufnr, row):sub(suggestion.col + 1, col)
  if shown_text(suggestion):sub(1, #typed) ~= typed then
    return nil
  end
  return typed
end

--- Move the anchor past `typed`: the items that go on the same way stay, shortened.
---@param suggestion quill.ghost.Suggestion
---@param typed string
---@return boolean whether anything is left to show
local function advance(suggestion, typed, row, col)
  local current = shown_text(suggestion)
  local kept = {}
  for _, item in ipairs(suggestion.items) do
    if item.text:sub(1, #typed) == typed and #item.text > #typed then
      local rest = { text = item.text:sub(#typed + 1), command = item.command }
      if item.replace_end then
        rest.replace_end = item.replace_end + (col - suggestion.col)
      end
      table.insert(kept, rest)
      if item.text == current then
        suggestion.index = #kept
      end
    end
  end
  suggestion.items = kept
  suggestion.index = math.min(suggestion.index, math.max(#kept, 1))
  suggestion.row, suggestion.col = row, col
  return #kept > 0
end

---@param bufnr integer
local function on_text_changed(bufnr)
  local state = states[bufnr]
  state.tick = api.nvim_buf_get_changedtick(bufnr)
  state.row, state.col = cursor()
  local suggestion = state.suggestion
  if suggestion then
    local typed = typed_through(bufnr, suggestion)
    if typed and advance(suggestion, typed, state.row, state.col) then
      render(bufnr, "typed") -- nothing to ask
      return
    end
    state.suggestion = nil
    render(bufnr)
  end
  schedule(bufnr)
end

---@param bufnr integer
local function on_cursor_moved(bufnr)
  local state = states[bufnr]
  if api.nvim_buf_get_changedtick(bufnr) ~= state.tick then
    return -- typing moved it: TextChangedI follows
  end
  local row, col = cursor()
  if row ~= state.row or col ~= state.col then
    M.dismiss(bufnr)
    state.row, state.col = row, col
  end
end

---@param bufnr integer
local function on_insert_enter(bufnr)
  local state = states[bufnr]
  state.tick = api.nvim_buf_get_changedtick(bufnr)
  state.row, state.col = cursor()
  schedule(bufnr)
end

--- The next word of `text`: spaces then a run of word characters or of punctuation; at
--- a line break, the break and the next line's indentation.
---@param text string
---@return string
function M.next_word(text)
  if text:sub(1, 1) == "\n" then
    return text:match("^\n[ \t]*")
  end
  return text:match("^[ \t]*[%w_\128-\255]+") or text:match("^[ \t]*[^%w_\128-\255%s]+") or text:match("^%s+") or text
end

--- The rest of the line of `text`, without its line break; at a line break, the break
--- and the next line.
---@param text string
---@return string
function M.next_line(text)
  if text:sub(1, 1) == "\n" then
    return text:match("^\n[^\n]*")
  end
  return text:match("^[^\n]+")
end

--- Insert the suggestion shown (all of it, its next word or its next line) and move the
--- cursor to the end of what was inserted. What is left of it stays shown. Called from
--- the `<Cmd>` the accept keys return (an expression mapping may not change the buffer).
---@param part? "all"|"word"|"line"
---@param bufnr? integer
---@return boolean whether anything was inserted
function M.accept(part, bufnr)
  bufnr = bufnr or api.nvim_get_current_buf()
  local state = states[bufnr]
  local suggestion = state and state.suggestion
  if not suggestion then
    return false
  end
  local item = suggestion.items[suggestion.index]
  local text = item.text
  local piece = text
  if part == "word" then
    piece = M.next_word(text)
  elseif part == "line" then
    piece = M.next_line(text)
  end
  local whole = piece == text
  local lines = vim.split(piece, "\n", { plain = true })
  local row, col = suggestion.row, suggestion.col
  local end_col = whole and item.replace_end or col
  api.nvim_buf_set_text(bufnr, row, col, row, end_col, lines)
  local end_row = row + #lines - 1
  local cursor_col = (#lines == 1 and col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(0, { end_row + 1, cursor_col })
  state.tick = api.nvim_buf_get_changedtick(bufnr)
  state.row, state.col = end_row, cursor_col
  if whole then
    state.suggestion = nil
    render(bufnr)
    local client = vim.lsp.get_client_by_id(suggestion.client_id)
    if item.command and client then
      client:exec_cmd(item.command, { bufnr = bufnr })
    end
    -- The TextChangedI that follows asks for the next one (which the server has prepared).
  else
    suggestion.items = { { text = text:sub(#piece + 1), command = item.command } }
    suggestion.index = 1
    suggestion.row, suggestion.col = end_row, cursor_col
    render(bufnr, "accepted")
  end
  return true
end

--- Show the next (count 1) or previous (count -1) suggestion. The first time, Quill is
--- asked explicitly (triggerKind Invoked) and its items are added to those shown; with
--- nothing shown, this asks for a suggestion.
---@param count integer
---@param bufnr? integer
function M.cycle(count, bufnr)
  bufnr = bufnr or api.nvim_get_current_buf()
  local state = states[bufnr]
  if not state then
    return
  end
  local suggestion = state.suggestion
  if suggestion and suggestion.invoked then
    local n = #suggestion.items
    suggestion.index = (suggestion.index - 1 + count) % n + 1
    render(bufnr, "cycled")
    return
  end
  M.request(bufnr, M.trigger.invoked, function(items, client_id)
    local current = state.suggestion
    if not current then
      if #items > 0 then
        local row, col = cursor()
        state.suggestion = { client_id = client_id, items = items, index = 1, invoked = true, row = row, col = col }
        render(bufnr, "answer")
      end
      return
    end
    local seen = {}
    for _, item in ipairs(current.items) do
      seen[item.text] = true
    end
    for _, item in ipairs(items) do
      if not seen[item.text] then
        table.insert(current.items, item)
        seen[item.text] = true
      end
    end
    current.invoked = true
    current.index = (current.index - 1 + count) % #current.items + 1
    render(bufnr, "cycled")
  end)
end

--- Ask for a suggestion at the cursor now (triggerKind Invoked), shown when it comes.
---@param bufnr? integer
function M.trigger_now(bufnr)
  M.request(bufnr or api.nvim_get_current_buf(), M.trigger.invoked)
end

--- Draw suggestions from this client in this buffer, asked for as the user types.
---@param bufnr integer
---@param client_id integer
function M.attach(bufnr, client_id)
  if states[bufnr] then
    states[bufnr].client_id = client_id
    return
  end
  local augroup = api.nvim_create_augroup("quill.ghost." .. bufnr, { clear = true })
  local row, col = 0, 0
  if api.nvim_get_current_buf() == bufnr then
    row, col = cursor()
  end
  states[bufnr] = {
    client_id = client_id,
    augroup = augroup,
    tick = api.nvim_buf_get_changedtick(bufnr),
    row = row,
    col = col,
  }
  local function on(events, callback)
    api.nvim_create_autocmd(events, {
      group = augroup,
      buffer = bufnr,
      callback = function()
        callback(bufnr)
      end,
    })
  end
  on("TextChangedI", on_text_changed)
  on("CursorMovedI", on_cursor_moved)
  on("InsertEnter", on_insert_enter)
  -- Typing with a completion menu open (its items are what the user looks at), leaving
  -- insert mode, leaving the buffer.
  on({ "TextChangedP", "InsertLeave", "BufLeave" }, M.dismiss)
  api.nvim_create_autocmd("LspDetach", {
    group = augroup,
    buffer = bufnr,
    callback = function(args)
      local state = states[bufnr]
      if state and args.data.client_id == state.client_id then
        M.detach(bufnr)
      end
    end,
  })
  api.nvim_create_autocmd("BufWipeout", {
    group = augroup,
    buffer = bufnr,
    callback = function()
      M.detach(bufnr)
    end,
  })
end

--- Stop drawing suggestions in this buffer.
---@param bufnr integer
function M.detach(bufnr)
  if not states[bufnr] then
    return
  end
  M.dismiss(bufnr)
  pcall(api.nvim_del_augroup_by_id, states[bufnr].augroup)
  states[bufnr] = nil
end

--- Whether the buffer draws Quill's suggestions.
---@param bufnr? integer
function M.attached(bufnr)
  return states[bufnr or api.nvim_get_current_buf()] ~= nil
end

--- The ghost text's highlights, unless the colorscheme or the user set them.
function M.set_highlights()
  api.nvim_set_hl(0, "QuillGhostText", { link = "Comment", default = true })
  api.nvim_set_hl(0, "QuillGhostTextCount", { link = "NonText", default = true })
end

return M

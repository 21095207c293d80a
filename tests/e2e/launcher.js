'use strict';
// Runs the Bot API emulator telegram-test-api 4.2.1 on 127.0.0.1 for the end-to-end tests, with
// the fixes python-telegram-bot 22 needs to talk to it like to Telegram:
//
//   node launcher.js [PORT]        (or E2E_BOT_API_PORT=PORT; 0 or nothing picks a free port)
//
// prints "telegram-test-api ready on http://127.0.0.1:<port>" once it listens, and exits on
// SIGTERM/SIGINT or when its parent process dies.
//
// The emulator's express app serves every request; in front of it, this file
//   - answers getUpdates itself, holding the request up to its `timeout` until a user update is
//     queued (the emulator answers at once, so a bot would busy-poll);
//   - answers sendChatAction and setMyCommands with ok:true (the emulator says HTTP 500), and
//     answerCallbackQuery too, recording the answer so the user side can see the toast;
//   - rewrites the JSON the emulator returns to bots: getMe gains is_bot, dates in milliseconds
//     become seconds, callback queries gain chat_instance, editMessageText returns the edited
//     message instead of null;
//   - takes sendDocument uploads (multipart/form-data, as Telegram does; the emulator has no
//     such method): the document's message is stored for the user side like any other, and the
//     file is kept for getFile and its download URL /file/bot<token>/<file_path>.
// User side (unchanged): POST /sendMessage, /sendCommand, /sendCallback, /getUpdates; added:
// GET /getCallbackAnswers, every answerCallbackQuery so far with the data of its button.

const http = require('http');
const TelegramServer = require('telegram-test-api');

const HOST = '127.0.0.1';
const MAX_POLL_SECONDS = 30;
const USER_EVENTS = ['AddedUserMessage', 'AddedUserCommand', 'AddedUserCallbackQuery'];
const ALWAYS_OK = new Set(['sendchataction', 'setmycommands', 'deletemycommands']);

const port = Number(process.argv[2] || process.env.E2E_BOT_API_PORT || 0);
const emulator = new TelegramServer({ host: HOST, port, storeTimeout: 3600 });
const callbackAnswers = [];
const files = new Map(); // file_id -> { name, type, content } of every document sent

// -- fixing what the emulator answers to bots ----------------------------------------------

function toSeconds(value) {
  return value > 1e11 ? Math.floor(value / 1000) : value; // 1e11 s is the year 5138
}

function fixObject(value) {
  if (Array.isArray(value)) return value.map(fixObject);
  if (value === null || typeof value !== 'object') return value;
  const fixed = {};
  for (const [key, item] of Object.entries(value)) {
    fixed[key] = key === 'date' && typeof item === 'number' ? toSeconds(item) : fixObject(item);
  }
  if (fixed.callback_query && fixed.callback_query.chat_instance === undefined) {
    const chat = fixed.callback_query.message && fixed.callback_query.message.chat;
    fixed.callback_query.chat_instance = String(chat ? chat.id : fixed.callback_query.from.id);
  }
  return fixed;
}

function editedMessage(body) {
  const stored = emulator.storage.botMessages.find((u) => String(u.messageId) === String(body.message_id)
    && String(u.message.chat_id) === String(body.chat_id));
  if (!stored) return true; // what Telegram answers for inline messages
  const { message } = stored;
  return {
    message_id: stored.messageId,
    date: stored.time,
    chat: { id: Number(message.chat_id), type: 'private' },
    text: message.text,
    reply_markup: message.reply_markup,
  };
}

function fixBotAnswer(req, body) {
  const method = botMethod(req);
  if (!method || !body || body.ok !== true) return body;
  let { result } = body;
  if (method.name === 'getme') result = { is_bot: true, ...result };
  if (method.name === 'editmessagetext' && result == null) result = editedMessage(req.body);
  return { ...body, result: fixObject(result) };
}

// Every res.json of the emulator's routes goes through express's response prototype.
const expressJson = emulator.webServer.response.json;
emulator.webServer.response.json = function json(body) {
  return expressJson.call(this, fixBotAnswer(this.req, body));
};

// -- what this file answers itself -----------------------------------------------------------

function botMethod(req) {
  const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url, 'http://x').pathname);
  return match && { token: match[1], name: match[2].toLowerCase() };
}

function readParameters(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const query = Object.fromEntries(new URL(req.url, 'http://x').searchParams);
      if (/json/.test(req.headers['content-type'] || '')) {
        try { resolve({ ...query, ...JSON.parse(text || '{}') }); } catch { resolve(query); }
      } else {
        resolve({ ...query, ...Object.fromEntries(new URLSearchParams(text)) });
      }
    });
  });
}

function sendJson(res, body, status = 200) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function badRequest(res, description) {
  sendJson(res, { ok: false, error_code: 400, description: `Bad Request: ${description}` }, 400);
}

// -- documents: sendDocument, getFile, the file's download ----------------------------------

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

// The fields and files of a multipart/form-data body (RFC 7578).
function readMultipart(body, contentType) {
  const found = { fields: {}, files: {} };
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType || '');
  if (!boundary) return found;
  const delimiter = Buffer.from(`\r\n--${boundary[1]}`);
  let start = body.indexOf(delimiter.subarray(2)); // the first has no CRLF before it
  if (start === -1) return found;
  start += delimiter.length - 2;
  for (;;) {
    if (body.subarray(start, start + 2).toString() === '--') break; // the closing delimiter
    const end = body.indexOf(delimiter, start);
    if (end === -1) break;
    const part = body.subarray(start + 2, end); // after the delimiter's line break
    const split = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, split).toString('utf8');
    const content = part.subarray(split + 4);
    const name = /;\s*name="([^"]*)"/i.exec(head);
    const filename = /;\s*filename="([^"]*)"/i.exec(head);
    const type = /^content-type:\s*(.+)$/im.exec(head);
    if (name && filename) {
      found.files[name[1]] = {
        name: filename[1],
        type: type ? type[1].trim() : 'application/octet-stream',
        content,
      };
    } else if (name) {
      found.fields[name[1]] = content.toString('utf8');
    }
    start = end + delimiter.length;
  }
  return found;
}

async function sendDocument(req, res, token) {
  const body = await readBody(req);
  const { fields, files: uploaded } = readMultipart(body, req.headers['content-type']);
  const upload = uploaded.document;
  if (!fields.chat_id) return badRequest(res, 'chat_id is empty');
  if (!upload) return badRequest(res, 'there is no document in the request');
  const fileId = `document-${files.size + 1}`;
  files.set(fileId, upload);
  const document = {
    file_id: fileId,
    file_unique_id: fileId,
    file_name: upload.name,
    mime_type: upload.type,
    file_size: upload.content.length,
  };
  const { document: _attached, ...rest } = fields;
  const result = emulator.addBotMessage({ ...rest, document }, token);
  return sendJson(res, { ok: true, result: fixObject({ ...result, document }) });
}

async function getFile(req, res) {
  const parameters = await readParameters(req);
  const upload = files.get(String(parameters.file_id));
  if (!upload) return badRequest(res, 'invalid file_id');
  const extension = (upload.name.match(/\.[A-Za-z0-9]+$/) || [''])[0];
  return sendJson(res, {
    ok: true,
    result: {
      file_id: parameters.file_id,
      file_unique_id: parameters.file_id,
      file_size: upload.content.length,
      file_path: `documents/${parameters.file_id}${extension}`,
    },
  });
}

function downloadFile(req, res) {
  const match = /^\/file\/bot[^/]+\/documents\/([^/.]+)/.exec(new URL(req.url, 'http://x').pathname);
  const upload = match && files.get(match[1]);
  if (!upload) {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    return void res.end(JSON.stringify({ ok: false, error_code: 404, description: 'Not Found' }));
  }
  res.writeHead(200, { 'Content-Type': upload.type, 'Content-Length': upload.content.length });
  return void res.end(upload.content);
}

function hasUpdates(token) {
  return emulator.storage.userMessages.some((u) => u.botToken === token && !u.isRead);
}

// Resolves when a user update arrives, `ms` pass, or the bot hangs up.
function nextUserUpdate(ms, res) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      USER_EVENTS.forEach((event) => emulator.off(event, done));
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    USER_EVENTS.forEach((event) => emulator.on(event, done));
    res.on('close', done);
  });
}

async function longPoll(req, res, token) {
  const parameters = await readParameters(req);
  const timeout = Math.min(Math.max(Number(parameters.timeout) || 0, 0), MAX_POLL_SECONDS);
  const deadline = Date.now() + timeout * 1000;
  while (!hasUpdates(token) && Date.now() < deadline && !res.destroyed) {
    await nextUserUpdate(deadline - Date.now(), res);
  }
  if (res.destroyed) return; // the bot gave up: leave its updates unread for the next poll
  sendJson(res, { ok: true, result: fixObject(emulator.getUpdates(token)) });
}

async function answerCallback(req, res) {
  const parameters = await readParameters(req);
  const query = emulator.storage.userMessages.find((u) => 'callbackQuery' in u
    && String(u.callbackId) === String(parameters.callback_query_id));
  callbackAnswers.push({ ...parameters, data: query ? query.callbackQuery.data : null });
  sendJson(res, { ok: true, result: true });
}

const server = http.createServer((req, res) => {
  const method = botMethod(req);
  if (method && method.name === 'getupdates') return void longPoll(req, res, method.token);
  if (method && method.name === 'answercallbackquery') return void answerCallback(req, res);
  if (method && method.name === 'senddocument') return void sendDocument(req, res, method.token);
  if (method && method.name === 'getfile') return void getFile(req, res);
  if (req.method === 'GET' && req.url.startsWith('/file/bot')) return void downloadFile(req, res);
  if (method && ALWAYS_OK.has(method.name)) {
    req.resume();
    return void sendJson(res, { ok: true, result: true });
  }
  if (req.method === 'GET' && req.url === '/getCallbackAnswers') {
    return void sendJson(res, { ok: true, result: callbackAnswers });
  }
  return void emulator.webServer(req, res);
});

// -- life cycle -------------------------------------------------------------------------------

function stop() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) stop(); }, 250).unref();

server.listen(port, HOST, () => {
  const bound = server.address().port;
  emulator.config.port = bound;
  emulator.config.apiURL = `http://${HOST}:${bound}`;
  process.stdout.write(`telegram-test-api ready on http://${HOST}:${bound}\n`);
});

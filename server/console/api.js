// The console's JSON API client (docs/console.md, "The API"): every unary
// gRPC method as POST /api/v1/<Service>/<Method>, the session, and the
// CSRF token every POST carries.

let csrfToken = '';
let onUnauthenticated = () => {};

// An error answer of the API: the gRPC code name and the server's message,
// which pages show verbatim where the action was.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function setCsrfToken(token) {
  csrfToken = token || '';
}

// Called when an answer says the session is gone (401), e.g. after the
// server restarted: the console shows the sign-in again.
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

async function request(method, path, body, extraHeaders = {}) {
  const headers = { Accept: 'application/json', ...extraHeaders };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method === 'POST') {
    headers['Content-Type'] = 'application/json';
    headers['X-CSRF-Token'] = csrfToken;
    init.body = JSON.stringify(body || {});
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'UNAVAILABLE', `the server did not answer (${err.message})`);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : {};
  } catch (err) {
    json = null;
  }
  if (!response.ok) {
    const code = json && json.code ? json.code : `HTTP_${response.status}`;
    const message = json && json.message ? json.message : text || response.statusText;
    if (response.status === 401) onUnauthenticated(message);
    throw new ApiError(response.status, code, message);
  }
  if (json === null) throw new ApiError(response.status, 'INTERNAL', 'the answer was not JSON');
  return json;
}

// POST /api/v1/<service>/<method> with the request message as JSON.
// `breakGlass`: an emergency reason (X-Caseline-Break-Glass) for this read.
export function call(service, method, body, { breakGlass } = {}) {
  const headers = {};
  if (breakGlass) headers['X-Caseline-Break-Glass'] = breakGlass;
  return request('POST', `/api/v1/${service}/${method}`, body, headers);
}

export async function getSession() {
  const session = await request('GET', '/api/v1/session');
  setCsrfToken(session.csrf_token);
  return session;
}

export async function startSession(body) {
  const session = await request('POST', '/api/v1/session', body);
  setCsrfToken(session.csrf_token);
  return session;
}

export async function endSession() {
  await request('POST', '/api/v1/session/end', {});
  setCsrfToken('');
}

// Fetches every page of a paged list: `field` is the repeated field, the
// request's page_token follows next_page_token. Stops after `maxPages`.
// Returns the last response with `field` holding every entry, and the
// largest withheld count of any page (each page counts its own).
export async function callAllPages(service, method, body, field, { maxPages = 20, breakGlass } = {}) {
  let all = [];
  let last = null;
  let withheld = null;
  let token = '';
  for (let page = 0; page < maxPages; page += 1) {
    last = await call(service, method, { ...body, page_token: token }, { breakGlass });
    all = all.concat(last[field] || []);
    if (last.withheld && Number(last.withheld.count)) {
      if (!withheld) {
        withheld = { ...last.withheld, count: Number(last.withheld.count) };
      } else {
        withheld.count += Number(last.withheld.count);
        withheld.data_classes = [...new Set([...(withheld.data_classes || []),
                                             ...(last.withheld.data_classes || [])])];
      }
    }
    token = last.next_page_token;
    if (!token) break;
  }
  return { ...last, [field]: all, withheld, truncated: Boolean(token) };
}

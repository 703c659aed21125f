// The JSON API of the playground server: every call returns the parsed answer or throws an Error
// carrying the server's one-line message. No computing happens here.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(method, path, body) {
  // X-Chainrule: the server refuses state changes without it (a cross-origin page cannot send it unasked).
  const init = { method, headers: { "X-Chainrule": "1" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let answer = null;
  try {
    answer = await response.json();
  } catch (_) {
    answer = null;
  }
  if (!response.ok) {
    const message = answer && answer.error ? answer.error : `${method} ${path} failed with status ${response.status}`;
    throw new ApiError(response.status, message);
  }
  return answer;
}

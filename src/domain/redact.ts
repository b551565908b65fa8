/**
 * Keeps secrets out of what we show: logs, errors, the dashboard, the dataset card. Anything that
 * prints a URL it did not build itself (database, Redis, PACS file URLs) passes it through here.
 */

const REDACTED = 'REDACTED';

// Query parameters that carry secrets in the URLs we meet: signed GCS URLs (X-Goog-Signature,
// X-Goog-Credential), WADO/web-server tokens, API keys, libpq's `password=`.
const SECRET_PARAM = /pass|secret|token|signature|credential|auth|api[-_]?key|^sig$|^key$/i;

// Fallback for strings the URL parser rejects, typically because the password holds an
// unencoded '/', '#' or '@': everything from `scheme://` to the last '@' goes, erring on the
// side of hiding too much.
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)\S*@/i;

/**
 * Returns `url` without user name, password or secret-bearing query parameters. Strings without
 * credentials come back unchanged (not normalised), so paths and plain text are safe to pass.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL the WHATWG parser accepts (a path, a malformed DSN): strip a userinfo part if
    // there is one and leave the rest as it is.
    return url.replace(USERINFO, '$1');
  }
  let changed = false;
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = '';
    parsed.password = '';
    changed = true;
  }
  for (const name of new Set(parsed.searchParams.keys())) {
    if (SECRET_PARAM.test(name)) {
      parsed.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? parsed.href : url;
}

/**
 * True when `text` is a URL carrying a password or a secret-bearing query parameter (a user
 * name alone is no secret): such a value must not be stored where others read it.
 */
export function carriesSecret(text: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return redactUrl(text) !== text;
  }
  if (parsed.password !== '') return true;
  return [...parsed.searchParams.keys()].some((name) => SECRET_PARAM.test(name));
}

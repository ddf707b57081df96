/**
 * The one gate between what a command says and what the runner reads. Text from a
 * store or a server (error bodies, keys, manifest fields) and URLs from inputs
 * reach logs, errors, outputs and the summary; the runner parses every log line
 * for workflow commands, so a hostile body holding `\n::add-mask::…` or
 * `\n::set-output …` must not be obeyed, and a pre-signed URL's signature (a
 * bearer credential until it expires) must not be published.
 */

const REDACTED = 'REDACTED';

/**
 * Any scheme://… URL with a query string: the query is what carries signatures.
 * Punctuation that ends a sentence (`…?sig=x: HTTP 403`) is left outside it.
 */
const URL_WITH_QUERY =
  /\b([a-z][a-z0-9+.-]*:\/\/[^\s?#"'<>`]*)\?(?:[^\s#"'<>`]*[^\s#"'<>`:.,;)])?/gi;

/** Signing parameters quoted outside a URL (an error body echoing a request, say). */
const SIGNING_PARAMETER =
  /\b((?:X-Amz-(?:Signature|Credential|Security-Token)|X-Goog-(?:Signature|Credential)|Signature|sig)=)[^&\s"'<>`]+/gi;

/** Replaces the query of every URL, and any stray signing parameter, with REDACTED. */
export function redactUrls(text: string): string {
  return text
    .replace(URL_WITH_QUERY, (_, base: string) => `${base}?${REDACTED}`)
    .replace(SIGNING_PARAMETER, (_, name: string) => `${name}${REDACTED}`);
}

/**
 * The runner obeys `::command::` at the start of a line (after whitespace) and the
 * legacy `##[command]` anywhere in one. A zero-width space keeps the text readable
 * while making it no longer a command: .NET's TrimStart does not strip U+200B.
 */
export function defuseCommands(text: string): string {
  return text.replace(/^([^\S\r\n]*):(?=:)/gm, '$1\u200b:').replaceAll('##[', '##\u200b[');
}

/** Everything printed where the runner reads it: redacted, then defused. */
export function gateText(text: string): string {
  return defuseCommands(redactUrls(text));
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** For the step summary, which is HTML: text stays text. */
export function gateHtml(text: string): string {
  return redactUrls(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

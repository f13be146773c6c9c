// Text and attribute values in HTML: layer names and vocabulary tokens are the user's data.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` safe inside an element or a quoted attribute: &, <, >, " and ' escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * `value` as JSON safe inside <script type="application/json">: '<' written as \u003c so no
 * '</script>' or '<!--' can end or alter the element; U+2028/U+2029 escaped as well.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A character as a label: whitespace and control characters made visible. */
export function visibleCharacter(c: string): string {
  if (c === ' ') return '␣';
  if (c === '\n') return '⏎';
  if (c === '\t') return '⇥';
  if (c === '\r') return '␍';
  return /^\p{Cc}$/u.test(c) ? `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : c;
}

/** A URL fit for messages and logs: its password replaced by `***` (the user name stays, to say who). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    // An unparsable URL may still hold a password somewhere: show only its scheme.
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? '';
    return `${scheme}//(unparsable URL)`;
  }
}

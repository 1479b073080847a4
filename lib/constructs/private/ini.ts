/** A value in an INI file. */
export type IniValue = string | number | boolean;

/** An INI document: sections of keys, in the order given. */
export type IniDocument = Readonly<Record<string, Readonly<Record<string, IniValue>>>>;

/**
 * Renders an INI document, as Grafana reads it. Keys and section names are written as given; values must be on one
 * line.
 *
 * @throws if a value contains a line break, which INI cannot hold
 */
export function renderIni(doc: IniDocument): string {
  const out: string[] = [];
  for (const [section, keys] of Object.entries(doc)) {
    if (out.length > 0) out.push('');
    out.push(`[${section}]`);
    for (const [key, value] of Object.entries(keys)) {
      const text = String(value);
      if (/[\r\n]/.test(text)) throw new Error(`ini value of ${section}.${key} must be on one line, got ${JSON.stringify(text)}`);
      out.push(`${key} = ${text}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Cuts text that came from the network or a config to `max` characters, marking the cut, so reports stay small. */
export function boundedText(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Lists values for a message: at most `maxItems`, each bounded, with a count of those left out. */
export function boundedList(values: readonly string[], maxItems = 8): string {
  const shown = values.slice(0, maxItems).map((v) => boundedText(v, 64));
  const more = values.length > maxItems ? `, … ${values.length - maxItems} more` : '';
  return `[${shown.join(', ')}${more}]`;
}

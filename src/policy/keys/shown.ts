/** Longest text of a value quoted in a message. */
const SHOWN = 80

/** A value as messages quote it (JSON), cut to 80 characters: a message names the value, it does not carry it. */
export function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > SHOWN ? `${text.slice(0, SHOWN)}…` : text
}

/** The temperature OpenAI's chat completions use when a request gives none. */
export const DEFAULT_TEMPERATURE = 1

/**
 * True when a chat completion request asks for an answer worth reusing: a `seed` (the provider's
 * best-effort reproducible sampling), or a temperature (the provider's default when absent) at most
 * `maxTemperature`. A sampled answer cached would hand every caller the same draw.
 */
export function isDeterministic(request: Readonly<Record<string, unknown>>, maxTemperature: number): boolean {
  if (typeof request.seed === 'number') return true
  const temperature = typeof request.temperature === 'number' ? request.temperature : DEFAULT_TEMPERATURE
  return temperature <= maxTemperature
}

/** A param name inside a template: `{id}`. */
export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

/** A template's pieces: literal text, and the params whose values go between. */
export type TemplatePart = { readonly text: string } | { readonly param: string }

/** A parsed `{param}` template, or why it does not parse. */
export type ParsedTemplate = { readonly parts: readonly TemplatePart[] } | { readonly error: string }

/**
 * Parses `template:{id}` into its parts. Braces always delimit a param (no tag or namespace needs
 * them, and an escape would make templates harder to read than it is worth).
 */
export function parseTemplate(template: string): ParsedTemplate {
  const parts: TemplatePart[] = []
  let rest = template
  while (rest.length > 0) {
    const open = rest.indexOf('{')
    const close = rest.indexOf('}')
    if (open === -1) {
      if (close !== -1) return { error: 'has a } without its {' }
      parts.push({ text: rest })
      break
    }
    if (close !== -1 && close < open) return { error: 'has a } without its {' }
    if (open > 0) parts.push({ text: rest.slice(0, open) })
    const end = rest.indexOf('}', open)
    if (end === -1) return { error: 'has a { without its }' }
    const name = rest.slice(open + 1, end)
    if (!PARAM_NAME.test(name)) return { error: `has {${name}}: a param name is a letter or _ then up to 63 of [A-Za-z0-9_]` }
    parts.push({ param: name })
    rest = rest.slice(end + 1)
  }
  return { parts }
}

/** The params a parsed template names, in order. */
export function paramsOf(parts: readonly TemplatePart[]): string[] {
  return parts.flatMap((part) => ('param' in part ? [part.param] : []))
}

/** The template with `values` in place of its params (every one of which `values` must hold). */
export function expand(parts: readonly TemplatePart[], values: ReadonlyMap<string, string>): string {
  return parts.map((part) => ('param' in part ? (values.get(part.param) ?? '') : part.text)).join('')
}

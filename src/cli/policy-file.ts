import { Option } from 'commander'

/**
 * `--policy-file <path>`: the policy configuration (docs/policies.md), as every command that reads one
 * names it; `loadPolicyConfig`/`loadPolicy` read it. Mandatory for the commands that only inspect a
 * file; `serve` reads it from `TIERCACHE_POLICY_FILE` too.
 */
export function policyFileOption(use: 'required' | 'optional'): Option {
  const option = new Option('--policy-file <path>', 'the policy configuration (docs/policies.md): .json, or an ES module (.js, .mjs) with a default export')
  return use === 'required' ? option.makeOptionMandatory() : option.env('TIERCACHE_POLICY_FILE')
}

/** Options of {@link HillClimber}. Sizes are in the policy's cost units (entries, or bytes when weighted). */
export interface HillClimberOptions {
  /** The cache's capacity. */
  readonly capacity: number
  /** Requests per sample period, after which the climber takes a step. @default 10 × capacity (Caffeine) */
  readonly samplePeriod?: number
  /** First step and restart step, as a share of capacity. @default 0.0625 (Caffeine's HILL_CLIMBER_STEP_PERCENT) */
  readonly stepPercent?: number
  /** Each step is this much of the previous one while the hit ratio is stable. @default 0.98 */
  readonly decay?: number
  /** A change of the hit ratio (absolute, 0..1) at least this large restarts with a full step. @default 0.05 */
  readonly restartThreshold?: number
  /** Direction of the first step: -1 shrinks the window first (Caffeine), 1 grows it. @default -1 */
  readonly firstDirection?: 1 | -1
}

/**
 * The hill climber that adapts the window's share of the cache to the workload: Caffeine's
 * (BoundedLocalCache.determineAdjustment, after Einziger, Eytan, Friedman & Manes, "Adaptive
 * Software Cache Management", Middleware 2018, section 4.2). It watches the hit ratio of successive
 * sample periods; while the ratio improves it keeps stepping in the same direction, when it gets
 * worse it turns back, and the step decays geometrically so that the size settles, until a large
 * change in the ratio (a new phase of the workload) restarts it with a full step.
 */
export class HillClimber {
  readonly samplePeriod: number
  private readonly restartStep: number
  private readonly decay: number
  private readonly restartThreshold: number
  private hits = 0
  private misses = 0
  private previousHitRate = 0
  private step: number

  constructor(options: HillClimberOptions) {
    this.samplePeriod = Math.max(1, Math.round(options.samplePeriod ?? 10 * options.capacity))
    this.restartStep = (options.stepPercent ?? 0.0625) * options.capacity
    this.decay = options.decay ?? 0.98
    this.restartThreshold = options.restartThreshold ?? 0.05
    this.step = (options.firstDirection ?? -1) * this.restartStep
  }

  /**
   * Counts one request; at the end of a sample period returns by how much to change the window
   * (positive: grow, in cost units, not rounded), and 0 otherwise.
   */
  record(hit: boolean): number {
    if (hit) this.hits++
    else this.misses++
    if (this.hits + this.misses < this.samplePeriod) return 0
    const hitRate = this.hits / (this.hits + this.misses)
    const change = hitRate - this.previousHitRate
    const amount = change >= 0 ? this.step : -this.step
    this.step = Math.abs(change) >= this.restartThreshold ? Math.sign(amount || 1) * this.restartStep : this.decay * amount
    this.previousHitRate = hitRate
    this.hits = 0
    this.misses = 0
    return amount
  }
}

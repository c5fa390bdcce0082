// The tiercache dashboard: polls GET /v1/stats with the key the user entered and shows the answer.
// Every figure is text; the charts (uPlot) repeat some of them. Built with textContent, never innerHTML:
// namespaces, keys and messages are user data. Polling, not SSE: EventSource cannot send Authorization,
// and the key must stay out of URLs.
;(() => {
  const KEY_ITEM = 'tiercache.dashboard.key'
  const POLL_MS = 2000
  const REASONS = ['absent', 'expired', 'invalidated', 'evicted', 'unavailable', 'suspended', 'unreadable', 'bypassed']
  const TIERS = ['l1', 'l2', 'l3']

  const $ = (selector) => document.querySelector(selector)
  const body = document.body
  const form = $('#login')
  const keyInput = $('#key')
  const board = $('#board')
  const statusLine = $('#status')
  const refusal = $('#refusal')
  const range = $('#range')
  const pause = $('#pause')

  // Formats. The browser test formats /v1/stats with the same rules, in the en-US locale.
  const integer = new Intl.NumberFormat(undefined)
  const decimal = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 })
  const money = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 })
  const finite = (n) => typeof n === 'number' && Number.isFinite(n)
  const count = (n) => (finite(n) ? integer.format(n) : '—')
  const ratio = (r) => (finite(r) ? `${(r * 100).toFixed(1)} %` : '—')
  const seconds = (s) => (!finite(s) ? '—' : s < 1 ? `${decimal.format(s * 1000)} ms` : `${decimal.format(s)} s`)
  const rate = (n) => (finite(n) ? `${decimal.format(n)}/s` : '—')
  const costs = (list) => (Array.isArray(list) && list.length > 0 ? list.map((c) => `${money.format(c.amount)} ${c.unit}`).join(', ') : '—')
  const sum = (values) => values.reduce((a, b) => a + (finite(b) ? b : 0), 0)
  const usd = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD' })
  const usdSmall = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', maximumSignificantDigits: 3 })
  // Cents from a dollar up; below it, three significant digits: an answer saves a fraction of a cent.
  const dollars = (n) => (!finite(n) ? '—' : n > 0 && n < 1 ? usdSmall.format(n) : usd.format(n))

  let timer
  let generation = 0
  let last

  function setState(state, message) {
    body.dataset.state = state
    if (message !== undefined && statusLine.textContent !== message) statusLine.textContent = message
  }

  function el(tag, text, className) {
    const node = document.createElement(tag)
    if (text !== undefined) node.textContent = text
    if (className !== undefined) node.className = className
    return node
  }

  function fillTable(name, rows, empty) {
    const tbody = document.querySelector(`[data-table="${name}"] tbody`)
    const width = tbody.parentElement.querySelectorAll('thead th').length
    tbody.replaceChildren(
      ...(rows.length === 0 ? [[{ text: empty, span: width }]] : rows).map((cells) => {
        const tr = el('tr')
        cells.forEach((cell, i) => {
          const td = el(i === 0 ? 'th' : 'td', typeof cell === 'object' ? cell.text : cell, typeof cell === 'object' ? cell.className : undefined)
          if (i === 0) td.scope = 'row'
          if (typeof cell === 'object' && cell.span !== undefined) td.colSpan = cell.span
          tr.append(td)
        })
        return tr
      }),
    )
  }

  function setStat(name, text) {
    for (const node of document.querySelectorAll(`[data-stat="${name}"]`)) node.textContent = text
  }

  /** Per second, of each step's count; the last step is still running, so over its elapsed part only. */
  function perSecond(values, stats) {
    const t = stats.series?.t ?? []
    if (!(stats.stepMs > 0)) return []
    const now = stats.now?.at ?? stats.to
    return (values ?? []).map((n, i) => {
      const elapsed = i === t.length - 1 ? Math.min(stats.stepMs, Math.max(1000, now - t[i])) : stats.stepMs
      return finite(n) ? n / (elapsed / 1000) : null
    })
  }

  const tiersOf = (stats) => TIERS.filter((tier) => stats.totals?.tiers?.[tier] !== undefined)
  const upper = (tier) => tier.toUpperCase()
  const kinds = (object) => (object && typeof object === 'object' ? sum(Object.values(object)) : object)
  const where = (item) => (item.tenant === undefined ? item.namespace : `${item.namespace} (tenant ${item.tenant === '' ? 'public' : item.tenant})`)
  const duration = (ms) => (!finite(ms) ? '—' : ms < 60_000 ? `${decimal.format(ms / 1000)} s` : ms < 3_600_000 ? `${decimal.format(ms / 60_000)} min` : `${decimal.format(ms / 3_600_000)} h`)

  function renderFigures(stats) {
    const totals = stats.totals
    const scope = stats.scope?.tenant !== undefined ? `tenant ${stats.scope.tenant}` : 'the whole deployment'
    const span = stats.history === false
      ? `this instance since it started at ${new Date(stats.from).toLocaleString()} (the server keeps no history)`
      : `${count(stats.instances)} instance${stats.instances === 1 ? '' : 's'}, ${new Date(stats.from).toLocaleString()} to ${new Date(stats.to).toLocaleString()}`
    setStat('scope', `Statistics of ${scope}: ${span}.`)
    for (const name of ['requests', 'hits', 'misses', 'staleHits', 'writes', 'deletes', 'coalesced', 'errors']) setStat(name, count(totals[name]))
    setStat('invalidations', count(kinds(totals.invalidations)))
    setStat('evictions', count(kinds(totals.evictions)))
    setStat('hitRatio', ratio(totals.hitRatio))
    const rps = perSecond(stats.series?.requests, stats)
    setStat('rps', rate(rps[rps.length - 1]))

    const tiers = tiersOf(stats)
    fillTable('tiers', tiers.map((tier) => {
      const t = totals.tiers[tier]
      return [upper(tier), count(t.hits), count(t.misses), ratio(t.hitRatio), ratio(t.served)]
    }), 'no tiers')

    const latency = (name, l) => [name, seconds(l?.p50), seconds(l?.p95), seconds(l?.p99), count(l?.count)]
    fillTable('latency', [
      ...tiers.map((tier) => latency(`${upper(tier)} read`, totals.tiers[tier].latency)),
      latency('getOrSet', totals.getOrSet?.latency),
      latency('origin call', totals.origin?.latency),
    ], '')

    const head = $('#misses-head')
    head.replaceChildren(...['reason', 'all tiers', 'share', ...tiers.map(upper)].map((text) => Object.assign(el('th', text), { scope: 'col' })))
    const reasons = totals.missReasons ?? {}
    const all = sum(REASONS.map((reason) => reasons[reason]))
    fillTable('misses', REASONS.map((reason) => [
      reason,
      count(reasons[reason] ?? 0),
      all === 0 ? '—' : ratio((reasons[reason] ?? 0) / all),
      ...tiers.map((tier) => count(totals.tiers[tier].missReasons?.[reason] ?? 0)),
    ]), '')

    const origin = totals.origin ?? {}
    for (const name of ['calls', 'errors', 'timeouts', 'saved']) setStat(`origin.${name}`, count(origin[name]))
    setStat('origin.costSaved', costs(origin.costSaved))
  }

  function renderNow(stats) {
    const now = stats.now ?? {}
    fillTable('health', TIERS.filter((tier) => now.tiers?.[tier]).map((tier) => {
      const t = now.tiers[tier]
      const range = stats.totals?.tiers?.[tier]
      const capacity = (n, cap) => (finite(n) ? (finite(cap) ? `${count(n)} of ${count(cap)}` : count(n)) : '—')
      return [
        upper(tier),
        t.kind ?? '—',
        { text: t.circuit ?? '—', className: t.circuit === 'closed' ? undefined : 'bad' },
        { text: t.healthy ? 'healthy' : 'unhealthy', className: t.healthy ? 'good' : 'bad' },
        capacity(t.entries, t.capacityEntries),
        capacity(t.bytes, t.capacityBytes),
        count(range?.errors),
        count(range?.circuitOpens),
      ]
    }), 'no tiers')
    const bus = now.bus
    setStat('bus', bus === null || bus === undefined ? 'none (a single instance, or no Redis)' : bus.listening ? 'listening' : 'deaf: L1 is suspended until it hears the bus again')

    fillTable('namespaces', (stats.namespaces ?? []).map((n) => [
      where(n), count(n.requests), ratio(n.hitRatio), count(n.staleHits), count(n.originCalls), count(n.originErrors), count(n.saved), costs(n.costSaved), seconds(n.getOrSetP95),
    ]), 'no lookups in this range')
    $('#keys-caption').textContent = `The most requested keys through this instance since ${new Date(stats.topKeysSince).toLocaleString()} (a sketch: each count may be up to its error too high)`
    fillTable('keys', (stats.topKeys ?? []).map((k) => [where(k), k.key, count(k.count), count(k.error), count(k.misses), duration(k.ttlMs)]), 'no keys looked up yet')
    fillTable('largest', (stats.largestEntries ?? []).map((e) => [where(e), e.key, count(e.bytes), new Date(e.at).toLocaleString()]), 'no writes yet')

    const list = $('#suggestions')
    const suggestions = stats.suggestions ?? []
    list.replaceChildren(...(suggestions.length === 0 ? [el('li', 'Nothing to suggest.')] : suggestions.map((s) => {
      const item = el('li', undefined, s.severity === 'warning' ? 'warning' : 'info')
      item.dataset.code = s.code
      item.append(el('strong', `${s.severity === 'warning' ? 'Warning' : 'Info'}: `), s.message)
      const about = [s.tenant && `tenant ${s.tenant}`, s.namespace && `namespace ${s.namespace}`, s.key && `key ${s.key}`, s.tier && `tier ${upper(s.tier)}`].filter(Boolean).join(', ')
      if (about !== '') item.append(el('span', ` (${about})`, 'hint'))
      return item
    })))
  }

  /** The AI gateway's panel, shown only when the report has an `ai` section (a server with a gateway). */
  function renderAi(stats) {
    const ai = stats.ai
    const panel = $('#ai')
    panel.hidden = ai === undefined || ai === null
    if (panel.hidden) return
    const totals = ai.totals ?? {}
    setStat('ai.answers', count(kinds(totals.answers)))
    setStat('ai.hitRatio', ratio(totals.hitRatio))
    for (const name of ['hits', 'misses', 'tokensSaved']) setStat(`ai.${name}`, count(totals[name]))
    setStat('ai.bypassed', count(totals.answers?.BYPASS))
    setStat('ai.costSaved', dollars(totals.costSavedUsd))
    fillTable('ai', (ai.rows ?? []).map((r) => [
      where(r), r.model, r.cacheType, count(r.hits), count(r.misses), ratio(r.hitRatio), count(r.tokensSaved), dollars(r.costSavedUsd),
    ]), 'no AI answers yet')
  }

  const HTTP_OUTCOMES = ['hit', 'stale', 'revalidated', 'collapsed', 'miss', 'pass', 'error']

  /** The HTTP cache's panel, shown only when the report has an `http` section (a server with an HTTP cache, to a service key). */
  function renderHttp(stats) {
    const http = stats.http
    const panel = $('#http')
    panel.hidden = http === undefined || http === null
    if (panel.hidden) return
    const totals = http.totals ?? {}
    setStat('http.responses', count(totals.responses))
    setStat('http.hitRatio', ratio(totals.hitRatio))
    for (const outcome of HTTP_OUTCOMES) setStat(`http.${outcome}`, count(totals[outcome]))
    fillTable('http', (http.rows ?? []).map((r) => [r.group, count(r.responses), ...HTTP_OUTCOMES.map((outcome) => count(r[outcome])), ratio(r.hitRatio)]), 'no HTTP responses yet')
  }

  // Charts: what each shows, as [label, values(stats), format of a value].
  const CHARTS = {
    hits: {
      id: 'chart-hits',
      format: ratio,
      range: [0, 1],
      // A step without lookups has no hit ratio (the report says 0): a gap, not a fall to 0 %.
      lines: (stats) => [['overall', stats.series?.hitRatio?.overall], ...tiersOf(stats).map((tier) => [`${upper(tier)} share`, stats.series?.hitRatio?.[tier]])].map(([label, values]) => [
        label,
        Array.isArray(values) ? values.map((v, i) => (stats.series.requests?.[i] === 0 ? null : v)) : values,
      ]),
    },
    rps: {
      id: 'chart-rps',
      format: rate,
      lines: (stats) => [['lookups', perSecond(stats.series?.requests, stats)], ['origin calls', perSecond(stats.series?.originCalls, stats)], ['errors', perSecond(stats.series?.errors, stats)]],
    },
    latency: {
      id: 'chart-latency',
      format: seconds,
      lines: (stats) => [['getOrSet', stats.series?.latencyP95?.getOrSet], ...tiersOf(stats).map((tier) => [`${upper(tier)} read`, stats.series?.latencyP95?.[tier]])],
    },
  }
  const COLORS = ['#1f5fa8', '#b8560b', '#2e7d32', '#7b3fa0']
  const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3]]
  const plots = new Map()

  /** The steps with a value between two gaps: no line reaches them, so they are drawn as points. */
  function isolated(u, seriesIdx) {
    const values = u.data[seriesIdx]
    const lone = []
    for (let i = 0; i < values.length; i++) if (values[i] != null && values[i - 1] == null && values[i + 1] == null) lone.push(i)
    return lone.length === 0 ? null : lone
  }

  function renderChart(name, stats) {
    const spec = CHARTS[name]
    const lines = spec.lines(stats).filter(([, values]) => Array.isArray(values))
    const t = stats.series?.t ?? []
    const latest = lines.map(([label, values]) => `${label} ${spec.format(values[values.length - 1])}`).join(', ')
    $(`#caption-${name}`).textContent = t.length === 0 ? 'No history in this range.' : `Latest step: ${latest}.`
    const details = document.querySelector(`[data-series="${name}"]`)
    if (details.open) renderSeriesTable(details.lastElementChild, t, lines, spec.format, stats)

    const target = $(`#${spec.id}`)
    if (typeof uPlot !== 'function' || target.clientWidth === 0) return
    const data = [t.map((ms) => ms / 1000), ...lines.map(([, values]) => values)]
    const signature = lines.map(([label]) => label).join()
    let plot = plots.get(name)
    if (plot !== undefined && plot.signature !== signature) {
      plot.destroy()
      plot = undefined
    }
    if (plot === undefined) {
      plot = new uPlot({
        width: target.clientWidth,
        height: 200,
        legend: { live: false },
        padding: [8, 28, 0, 0],
        scales: spec.range ? { y: { range: spec.range } } : {},
        axes: [{}, { size: 70, values: (_u, ticks) => ticks.map(spec.format) }],
        series: [{}, ...lines.map(([label], i) => ({ label, stroke: COLORS[i % COLORS.length], dash: DASHES[i % DASHES.length], width: 2, points: { show: false, size: 6, fill: COLORS[i % COLORS.length], filter: isolated } }))],
      }, data, target)
      plot.signature = signature
      plots.set(name, plot)
    } else plot.setData(data)
  }

  function renderSeriesTable(container, t, lines, format, stats) {
    const long = stats.range === '7d' || stats.range === '30d'
    const table = el('table')
    const head = el('tr')
    head.append(el('th', 'step start'), ...lines.map(([label]) => el('th', label)))
    for (const th of head.children) th.scope = 'col'
    table.append(el('thead'), el('tbody'))
    table.tHead.append(head)
    t.forEach((ms, i) => {
      const row = el('tr')
      const when = new Date(ms)
      row.append(el('th', long ? when.toLocaleString() : when.toLocaleTimeString()), ...lines.map(([, values]) => el('td', format(values[i]))))
      row.firstChild.scope = 'row'
      table.tBodies[0].append(row)
    })
    container.replaceChildren(table)
  }

  function render(stats, fetchedAt) {
    last = stats
    renderFigures(stats)
    renderNow(stats)
    renderAi(stats)
    renderHttp(stats)
    for (const name of Object.keys(CHARTS)) renderChart(name, stats)
    $('#updated').textContent = `updated ${new Date().toLocaleTimeString()}`
    body.dataset.fetchedAt = String(fetchedAt)
    body.dataset.updated = String(Date.now())
  }

  function showLogin(message) {
    board.hidden = true
    form.hidden = false
    if (message === undefined) refusal.hidden = true
    else {
      refusal.textContent = message
      refusal.hidden = false
    }
    keyInput.focus()
  }

  function schedule(ms) {
    clearTimeout(timer)
    timer = setTimeout(poll, ms)
  }

  async function errorOf(response) {
    const answer = await response.json().catch(() => undefined)
    const code = answer?.error?.code
    return `${response.status}${code ? ` ${code}` : ''}${answer?.error?.message ? `: ${answer.error.message}` : ''}`
  }

  async function poll() {
    const key = sessionStorage.getItem(KEY_ITEM)
    if (key === null) return showLogin()
    if (pause.getAttribute('aria-pressed') === 'true' || document.hidden) return // resumed by the pause button or visibilitychange
    const mine = ++generation
    const fetchedAt = Date.now()
    let response
    try {
      response = await fetch(`v1/stats?range=${encodeURIComponent(range.value)}`, { headers: { authorization: `Bearer ${key}`, accept: 'application/json' }, cache: 'no-store', credentials: 'omit' })
    } catch {
      if (mine === generation) {
        setState('error', 'Cannot reach the server; retrying every 2 s.')
        schedule(POLL_MS)
      }
      return
    }
    if (mine !== generation) return // superseded by a newer poll (range changed, key forgotten)
    if (response.status === 401 || response.status === 403) {
      sessionStorage.removeItem(KEY_ITEM)
      setState('refused', 'Refused: enter another key.')
      return showLogin(`The server refused this key (${await errorOf(response)}).`)
    }
    if (response.status === 429) {
      const wait = Math.max(POLL_MS, Number(response.headers.get('retry-after') ?? 0) * 1000)
      setState('error', `Over this key's rate limit: retrying in ${Math.round(wait / 1000)} s. A key on a larger plan polls without pauses.`)
      return schedule(wait)
    }
    if (!response.ok) {
      setState('error', `The server answered ${await errorOf(response)}; retrying every 2 s.`)
      return schedule(POLL_MS)
    }
    const stats = await response.json()
    if (mine !== generation) return
    form.hidden = true
    refusal.hidden = true
    board.hidden = false
    render(stats, fetchedAt)
    setState('live', `Live: updated every ${POLL_MS / 1000} s.`)
    schedule(POLL_MS)
  }

  function restart() {
    clearTimeout(timer)
    generation++
    poll()
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const key = keyInput.value.trim()
    if (key === '') return
    sessionStorage.setItem(KEY_ITEM, key)
    keyInput.value = ''
    setState('loading', 'Loading the statistics…')
    restart()
  })
  $('#forget').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_ITEM)
    generation++
    clearTimeout(timer)
    setState('idle', 'Key forgotten. Enter an API key with the read role to see the statistics.')
    showLogin()
  })
  pause.addEventListener('click', () => {
    const paused = pause.getAttribute('aria-pressed') !== 'true'
    pause.setAttribute('aria-pressed', String(paused))
    pause.textContent = paused ? 'Resume' : 'Pause'
    if (paused) setState('paused', 'Paused.')
    restart()
  })
  range.addEventListener('change', restart)
  document.addEventListener('visibilitychange', () => document.hidden || restart())
  for (const details of document.querySelectorAll('details[data-series]')) details.addEventListener('toggle', () => last && renderChart(details.dataset.series, last))
  window.addEventListener('resize', () => {
    for (const [name, plot] of plots) {
      const width = $(`#${CHARTS[name].id}`).clientWidth
      if (width > 0) plot.setSize({ width, height: 200 })
    }
  })

  if (sessionStorage.getItem(KEY_ITEM) !== null) {
    setState('loading', 'Loading the statistics…')
    poll()
  } else {
    setState('idle')
    showLogin()
  }
})()

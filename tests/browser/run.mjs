// The browser tests: Debian's chromium, driven headless by playwright-core,
// against the built `hoist serve` in front of s3rver (and Ceph RGW for the
// reload-resume case, which needs ListParts). CTest runs it (label browser):
//
//   node tests/browser/run.mjs --hoist build/release/tools/hoist [--only NAME]... [--screenshot FILE]
//
// HOIST_BROWSER_DEBUG=1 prints the Uppy test pages' console and requests.
// Each case gets a fresh browser context (no cookies, no localStorage) and
// checks what the storage holds byte for byte (read back with the AWS SDK).
// Exit status: 0 when every case passed; 1 when one failed (there are no
// skips: every route the cases need is hoist serve's own).
import { parseArgs } from 'node:util'
import { existsSync } from 'node:fs'
import * as h from './harness.mjs'
import { cases } from './cases.mjs'

const { values: args } = parseArgs({
  options: {
    hoist: { type: 'string' },
    only: { type: 'string', multiple: true },
    screenshot: { type: 'string' },
  },
})
const root = new URL('../../', import.meta.url).pathname
const hoist = args.hoist
if (!hoist || !existsSync(hoist)) {
  console.error('run.mjs: --hoist PATH (the built hoist binary) is required')
  process.exit(2)
}

// Missing prerequisites are failures with a reason, not skips: CI installs them.
const chromiumPath = process.env.HOIST_CHROMIUM ?? '/usr/bin/chromium'
if (!existsSync(chromiumPath)) {
  console.error(`run.mjs: ${chromiumPath} is missing (Debian's chromium: run tools/install-deps)`)
  process.exit(1)
}

const selected = cases.filter((c) => !args.only || args.only.includes(c.name))
const needRgw = selected.some((c) => c.store === 'rgw')
const started = Date.now()
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`

const tmp = h.tempDir()
let browser
let failed = 0
const stopOnSignal = async () => { await h.stopAll(); tmp.remove(); process.exit(130) }
process.on('SIGTERM', stopOnSignal)
process.on('SIGINT', stopOnSignal)
try {
  // The stores start side by side: RGW takes the longest (~10-20 s).
  const [s3rver, rgw] = await Promise.all([
    h.startStore(`${root}tools/s3rver-local`, ['--bucket', 'browser'], 30_000),
    needRgw ? h.startStore(`${root}tools/rgw-local`, ['--bucket', 'browser'], 90_000) : null,
  ])
  console.log(`stores ready (${elapsed()})`)
  const stores = {
    s3rver: await h.storeClient({
      endpoint: s3rver.env.HOIST_S3_ENDPOINT,
      ca: s3rver.env.HOIST_S3_CA,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      bucket: 'browser',
    }),
  }
  if (rgw) {
    stores.rgw = await h.storeClient({
      endpoint: rgw.env.HOIST_S3_ENDPOINT,
      ca: rgw.env.HOIST_S3_CA,
      credentials: h.readCredentials(rgw.env.HOIST_S3_CREDENTIALS),
      bucket: 'browser',
    })
  }
  const services = {}
  for (const [name, store] of Object.entries(stores)) {
    services[name] = await h.startService(hoist, store, tmp.dir, name)
    await h.allowOrigin(store, services[name].origin)
  }
  browser = await h.launchChromium()
  console.log(`hoist serve and chromium ${browser.version()} ready (${elapsed()})`)

  for (const c of selected) {
    const t0 = Date.now()
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 800 } })
    context.setDefaultTimeout(30_000)
    // The page runs under its Content-Security-Policy: Chromium reports every
    // blocked script, style, image or request on the console; any fails the case.
    const violations = []
    context.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()) })
    const ctx = {
      browser, context, store: stores[c.store ?? 's3rver'], service: services[c.store ?? 's3rver'], dir: tmp.dir,
      screenshot: args.screenshot,
    }
    try {
      await Promise.race([
        c.run(ctx),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${c.timeoutMs ?? 60_000} ms`)), c.timeoutMs ?? 60_000)),
      ])
      if (violations.length) throw new Error(`Content-Security-Policy violations: ${violations.join(' | ')}`)
      console.log(`PASS ${c.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
    } catch (err) {
      ++failed
      console.log(`FAIL ${c.name}: ${err?.stack ?? err}`)
      for (const s of Object.values(services)) console.log(`--- hoist serve (${s.name}) log tail:\n${s.child.log.slice(-4000)}`)
    } finally {
      await context.close().catch(() => {})
    }
  }
} catch (err) {
  ++failed
  console.log(`FAIL setup: ${err?.stack ?? err}`)
} finally {
  await browser?.close().catch(() => {})
  await h.stopAll()
  tmp.remove()
}
console.log(`${selected.length - failed} passed, ${failed} failed (${elapsed()})`)
process.exit(failed ? 1 : 0)

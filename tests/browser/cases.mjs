// The browser test cases (issue 16's "Done when"), run by run.mjs. Each gets
// ctx = {browser, context, store, service, dir, screenshot}:
// a fresh browser context, the store (SDK client) and the hoist serve in
// front of it. A case throws to fail; it checks the storage's bytes itself.
import assert from 'node:assert/strict'
import { MiB, load, makeFile, readObject, sha256, tokens } from './harness.mjs'

const API = '/v1/presigned-upload'

// ---- helpers ----------------------------------------------------------------

// Signs in through the page's own form (POST /v1/session, the session cookie).
async function signInOnPage(ctx, page, user = 'alice') {
  const res = await page.goto(ctx.service.origin + '/')
  // Only the service's scripts; requests to the service and the storage only.
  const policy = res.headers()['content-security-policy'] ?? ''
  assert.match(policy, /script-src 'self';/, `the page's Content-Security-Policy: ${policy}`)
  assert.ok(policy.includes(`connect-src 'self' ${ctx.store.origin};`), `connect-src names ${ctx.store.origin}: ${policy}`)
  await page.fill('#token', tokens[user])
  await page.click('#sign-in button[type=submit]')
  await page.waitForSelector('#uploader:not([hidden])', { timeout: 10_000 })
}

// The session cookie without the page (for the Uppy test pages and the API
// checks): the context's request client shares the browser's cookie jar.
async function signIn(ctx, context, user) {
  const r = await context.request.post(ctx.service.origin + '/v1/session', { headers: { Authorization: `Bearer ${tokens[user]}` } })
  assert.equal(r.status(), 200, `POST /v1/session for ${user}: ${await r.text()}`)
  const cookies = await context.cookies(ctx.service.origin)
  assert.ok(cookies.some((c) => c.name === 'hoist_session' && c.httpOnly), 'an HttpOnly hoist_session cookie')
}

async function addFiles(page, files) {
  await page.locator('input.uppy-Dashboard-input').first().setInputFiles(files.map((f) => f.path))
}

async function startUpload(page) {
  await page.click('button.uppy-StatusBar-actionBtn--upload')
}

// Waits for `n` rows in the page's "Uploaded" list; answers them by file name.
async function results(page, n, timeout = 45_000) {
  await page.waitForFunction((n) => document.querySelectorAll('#results li').length >= n, n, { timeout })
  const rows = await page.$$eval('#results li', (lis) => lis.map((li) => ({
    name: li.dataset.name, method: li.dataset.method, detail: li.querySelector('.detail')?.textContent ?? '',
  })))
  return Object.fromEntries(rows.map((r) => [r.name, r]))
}

async function assertStored(ctx, key, file) {
  assert.ok(key.startsWith('uploads/alice/'), `key ${key} is under alice's prefix`)
  const stored = await readObject(ctx.store, key)
  assert.equal(stored.length, file.bytes.length, `${file.name}: stored size`)
  assert.equal(sha256(stored), sha256(file.bytes), `${file.name}: stored bytes differ`)
}

const isPartPut = (req) => req.method() === 'PUT' && new URL(req.url()).searchParams.has('partNumber')
const partNumber = (req) => Number(new URL(req.url()).searchParams.get('partNumber'))

// A test page at the service's own origin (so the session cookie is
// same-origin), served by interception, that runs Uppy 6 unchanged from the
// embedded /assets/ with @uppy/aws-s3 configured by `options` (JS source).
async function uppyTestPage(ctx, page, options) {
  const url = `${ctx.service.origin}/browser-test/uppy.html`
  // A page fulfilled by interception has no IP address, so Chromium's Local
  // Network Access takes it for a public page and refuses its requests to the
  // loopback store; a page the service itself serves (the upload page) is
  // loopback and needs no permission. Granted here for the test page only.
  await ctx.context.grantPermissions(['local-network-access'], { origin: ctx.service.origin })
  if (process.env.HOIST_BROWSER_DEBUG) {   // the test page's console and requests, to see why Uppy failed
    page.on('console', (m) => console.log('console:', m.text()))
    page.on('requestfailed', (r) => console.log('failed:', r.method(), r.url().slice(0, 200), r.failure()?.errorText))
    page.on('response', (r) => console.log('response:', r.status(), r.request().method(), r.url().slice(0, 160)))
  }
  await page.route(url, (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><meta charset="utf-8"><input type="file" id="file">
<script type="module">
import { Uppy, AwsS3 } from '/assets/vendor/uppy-6.0.1/uppy.min.mjs'
const uppy = new Uppy().use(AwsS3, ${options})
document.getElementById('file').addEventListener('change', (e) => {
  for (const f of e.target.files) uppy.addFile({ name: f.name, type: f.type, data: f })
})
window.uppy = uppy
window.ready = true
</script>`,
  }))
  await page.goto(url)
  await page.waitForFunction(() => window.ready === true)
}

async function uppyUpload(page, file) {
  await page.setInputFiles('#file', file.path)
  return page.evaluate(async () => {
    const r = await window.uppy.upload()
    return {
      failed: r.failed.map((f) => String(f.error)),
      successful: r.successful.map((f) => ({ name: f.name, key: f.response?.body?.key, location: f.response?.uploadURL })),
    }
  })
}

// ---- the cases --------------------------------------------------------------

export const cases = [
  {
    name: 'page-uploads-three-files',
    async run(ctx) {
      const files = [
        makeFile(ctx.dir, 'empty.bin', 0),
        makeFile(ctx.dir, 'one-kib.txt', 1024),
        makeFile(ctx.dir, 'twelve-mib.bin', 12 * MiB),
      ]
      const page = await ctx.context.newPage()
      const partPuts = []
      page.on('request', (req) => { if (isPartPut(req)) partPuts.push(partNumber(req)) })
      await signInOnPage(ctx, page)
      await addFiles(page, files)
      await page.evaluate(() => {
        window.progress = {}
        window.hoistUppy.on('upload-progress', (f, p) => (window.progress[f.name] ??= []).push(p.bytesUploaded))
      })
      await startUpload(page)
      const r = await results(page, 3)
      assert.equal(r['empty.bin']?.method, 'single-put')
      assert.equal(r['one-kib.txt']?.method, 'single-put')
      assert.equal(r['twelve-mib.bin']?.method, 'presigned-s3')
      for (const f of files) await assertStored(ctx, r[f.name].detail, f)
      // 12 MiB in 5 MiB parts: three parts, each sent once, in parallel.
      assert.deepEqual([...partPuts].sort(), [1, 2, 3])
      // Progress as bytes leave, not only at the end (Uppy's status bar
      // computes the total, rate and time left from these events).
      const progress = await page.evaluate(() => window.progress)
      const big = progress['twelve-mib.bin'] ?? []
      assert.ok(big.some((b) => b > 0 && b < 12 * MiB), `intermediate progress for the 12 MiB file: ${big}`)
      assert.equal(big.at(-1), 12 * MiB)
      const state = await page.evaluate(() => window.hoistUppy.getFiles().map((f) => [f.name, f.progress.percentage, f.progress.uploadComplete]))
      assert.deepEqual(state.sort(), files.map((f) => [f.name, 100, true]).sort())
      await page.waitForSelector('.uppy-StatusBar.is-complete')
      if (ctx.screenshot) await page.screenshot({ path: ctx.screenshot })
    },
  },
  {
    name: 'page-retries-a-failed-part',
    async run(ctx) {
      const file = makeFile(ctx.dir, 'retried.bin', 12 * MiB)
      const page = await ctx.context.newPage()
      const puts = {}
      await page.route((u) => u.origin === ctx.store.origin, async (route) => {
        const req = route.request()
        if (isPartPut(req)) {
          const n = partNumber(req)
          puts[n] = (puts[n] ?? 0) + 1
          // The storage fails part 2 once, as S3 does under load (a readable
          // CORS answer: a refused or blocked one would mean the fallback).
          if (n === 2 && puts[n] === 1)
            return route.fulfill({
              status: 503,
              headers: { 'Access-Control-Allow-Origin': ctx.service.origin, 'Content-Type': 'application/xml' },
              body: '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
            })
        }
        return route.continue()
      })
      await signInOnPage(ctx, page)
      await addFiles(page, [file])
      await startUpload(page)
      const r = await results(page, 1)
      assert.equal(r[file.name]?.method, 'presigned-s3', 'a retried part stays direct')
      assert.deepEqual(puts, { 1: 1, 2: 2, 3: 1 })
      await assertStored(ctx, r[file.name].detail, file)
    },
  },
  {
    name: 'page-falls-back-to-the-proxy-when-storage-is-blocked',
    async run(ctx) {
      const file = makeFile(ctx.dir, 'blocked.bin', 12 * MiB)
      const small = makeFile(ctx.dir, 'blocked-small.txt', 1024)   // would be a single PUT
      const page = await ctx.context.newPage()
      let blocked = 0
      const proxied = []
      // Direct PUTs never reach the storage (a network policy, an extension).
      await page.route((u) => u.origin === ctx.store.origin, (route) => {
        if (route.request().method() !== 'PUT') return route.continue()
        ++blocked
        return route.abort('blockedbyclient')
      })
      page.on('requestfinished', async (req) => {
        if (req.method() === 'PUT' && new URL(req.url()).pathname.startsWith('/v1/uploads/'))
          proxied.push((await req.response())?.status())
      })
      await signInOnPage(ctx, page)
      await addFiles(page, [file, small])
      await startUpload(page)
      const r = await results(page, 2)
      assert.equal(r[file.name]?.method, 'chunked-s3')
      assert.equal(r[small.name]?.method, 'chunked-s3')
      assert.ok(blocked >= 2, 'direct PUTs were tried and blocked')
      assert.deepEqual(proxied, [200, 200, 200, 200], "the big file's three parts and the small file's one went through the proxy")
      await assertStored(ctx, r[file.name].detail, file)
      await assertStored(ctx, r[small.name].detail, small)
    },
  },
  {
    name: 'page-resumes-after-a-reload',
    store: 'rgw',   // ListParts: s3rver has none
    timeoutMs: 90_000,
    async run(ctx) {
      const file = makeFile(ctx.dir, 'resumed.bin', 20 * MiB)   // 4 parts of 5 MiB
      const page = await ctx.context.newPage()
      const puts = {}
      const held = []
      await page.route((u) => u.origin === ctx.store.origin, (route) => {
        const req = route.request()
        if (isPartPut(req)) {
          const n = partNumber(req)
          puts[n] = (puts[n] ?? 0) + 1
          // Parts 3 and 4 hang on their first try: the reload interrupts them.
          if (n >= 3 && puts[n] === 1) return held.push(route)
        }
        return route.continue()
      })
      await signInOnPage(ctx, page)
      await addFiles(page, [file])
      await page.evaluate(() => {
        window.partsDone = []
        window.hoistUppy.on('hoist:part-done', (f, n) => window.partsDone.push(n))
      })
      await startUpload(page)
      await page.waitForFunction(() => window.partsDone.length >= 2)
      assert.deepEqual(await page.evaluate(() => window.partsDone.sort()), [1, 2])
      await page.reload()
      for (const route of held.splice(0)) route.abort().catch(() => {})   // the page that sent them is gone
      // Signed in still (the cookie); the same file again.
      await page.waitForSelector('#uploader:not([hidden])')
      await addFiles(page, [file])
      await startUpload(page)
      const r = await results(page, 1, 60_000)
      assert.equal(r[file.name]?.method, 'presigned-s3')
      assert.deepEqual(puts, { 1: 1, 2: 1, 3: 2, 4: 2 }, 'confirmed parts are not sent again')
      await assertStored(ctx, r[file.name].detail, file)
    },
  },
  {
    name: 'page-pauses-resumes-and-cancels',
    store: 'rgw',   // ListMultipartUploads: s3rver has none
    timeoutMs: 90_000,
    async run(ctx) {
      const { ListMultipartUploadsCommand } = await load('@aws-sdk/client-s3')
      const pending = async () => (await ctx.store.client.send(new ListMultipartUploadsCommand({ Bucket: ctx.store.bucket, Prefix: 'uploads/alice/' }))).Uploads ?? []
      const page = await ctx.context.newPage()
      const puts = {}
      const held = []
      let hold = () => false
      await page.route((u) => u.origin === ctx.store.origin, (route) => {
        const req = route.request()
        if (isPartPut(req)) {
          // the key's last segment is USER_UNIXMS_NAME
          const key = `${decodeURIComponent(new URL(req.url()).pathname.split('/').pop()).replace(/^[^_]+_\d+_/, '')}#${partNumber(req)}`
          puts[key] = (puts[key] ?? 0) + 1
          if (hold(req, puts[key])) return held.push(route)
        }
        return route.continue()
      })
      await signInOnPage(ctx, page)
      await page.evaluate(() => {
        window.partsDone = []
        window.hoistUppy.on('hoist:part-done', (f, n) => window.partsDone.push(`${f.name}#${n}`))
      })

      // Pause with part 3 in flight, resume: only part 3 is sent again.
      const paused = makeFile(ctx.dir, 'paused.bin', 20 * MiB)
      hold = (req, count) => req.url().includes('paused.bin') && partNumber(req) === 3 && count === 1
      await addFiles(page, [paused])
      await startUpload(page)
      await page.waitForFunction(() => window.partsDone.length >= 3)
      await page.evaluate(() => window.hoistUppy.pauseAll())
      for (const route of held.splice(0)) await route.abort().catch(() => {})
      await page.waitForTimeout(500)
      assert.equal(puts['paused.bin#3'], 1, 'nothing is sent while paused')
      await page.evaluate(() => window.hoistUppy.resumeAll())
      const r = await results(page, 1)
      assert.equal(r[paused.name]?.method, 'presigned-s3')
      const mine = Object.fromEntries(Object.entries(puts).filter(([k]) => k.includes('paused.bin')).map(([k, v]) => [k.split('#')[1], v]))
      assert.deepEqual(mine, { 1: 1, 2: 1, 3: 2, 4: 1 })
      await assertStored(ctx, r[paused.name].detail, paused)

      // Cancel with parts in flight: the multipart upload is aborted.
      const cancelled = makeFile(ctx.dir, 'cancelled.bin', 20 * MiB)
      hold = (req) => req.url().includes('cancelled.bin') && partNumber(req) >= 3
      await page.reload()   // a fresh Dashboard (the finished one has no file input)
      await page.waitForSelector('#uploader:not([hidden])')
      await page.evaluate(() => {
        window.partsDone = []
        window.hoistUppy.on('hoist:part-done', (f, n) => window.partsDone.push(`${f.name}#${n}`))
      })
      await addFiles(page, [cancelled])
      await startUpload(page)
      await page.waitForFunction(() => window.partsDone.length >= 2)
      const before = (await pending()).filter((u) => u.Key.endsWith('_cancelled.bin'))
      assert.equal(before.length, 1, 'the upload is in storage before the cancel')
      const aborted = page.waitForResponse((res) => res.url().endsWith(API) && res.request().postData()?.includes('"action":"abort"'))
      await page.evaluate(() => window.hoistUppy.cancelAll())
      assert.equal((await aborted).status(), 200)
      for (const route of held.splice(0)) await route.abort().catch(() => {})
      const after = (await pending()).filter((u) => u.Key.endsWith('_cancelled.bin'))
      assert.deepEqual(after, [], 'no multipart upload left after the cancel')
    },
  },
  {
    name: 'page-pauses-during-a-service-call',
    async run(ctx) {
      const file = makeFile(ctx.dir, 'paused-early.bin', 12 * MiB)
      const page = await ctx.context.newPage()
      let startSeen
      const started = new Promise((r) => { startSeen = r })
      await page.route(`${ctx.service.origin}${API}`, async (route) => {
        if (!route.request().postData()?.includes('"action":"start"')) return route.continue()
        startSeen()
        await new Promise((r) => setTimeout(r, 700))   // a slow service: the user pauses meanwhile
        return route.continue()
      })
      const partPuts = []
      page.on('request', (req) => { if (isPartPut(req)) partPuts.push(partNumber(req)) })
      await signInOnPage(ctx, page)
      await addFiles(page, [file])
      await startUpload(page)
      await started
      await page.evaluate(() => window.hoistUppy.pauseAll())
      await page.waitForTimeout(1500)   // start answered while paused
      assert.deepEqual(partPuts, [], 'no part is sent while paused')
      assert.equal(await page.locator('#results li').count(), 0, 'a pause is not a failure')
      await page.evaluate(() => window.hoistUppy.resumeAll())
      const r = await results(page, 1)
      assert.equal(r[file.name]?.method, 'presigned-s3')
      assert.deepEqual([...partPuts].sort(), [1, 2, 3])
      await assertStored(ctx, r[file.name].detail, file)
    },
  },
  {
    name: 'uppy-companion-mode',
    async run(ctx) {
      const file = makeFile(ctx.dir, 'companion.bin', 11 * MiB)
      await signIn(ctx, ctx.context, 'alice')
      const page = await ctx.context.newPage()
      const partPuts = []
      page.on('request', (req) => { if (isPartPut(req)) partPuts.push(partNumber(req)) })
      await uppyTestPage(ctx, page, `{ companionEndpoint: location.origin, shouldUseMultipart: true,
        getChunkSize: () => 5 * 1024 * 1024 }`)
      const r = await uppyUpload(page, file)
      assert.deepEqual(r.failed, [])
      assert.equal(r.successful.length, 1)
      assert.deepEqual([...partPuts].sort(), [1, 2, 3], 'multipart: three parts')
      await assertStored(ctx, r.successful[0].key, file)
    },
  },
  {
    name: 'uppy-sign-request-mode',
    async run(ctx) {
      const file = makeFile(ctx.dir, 'signed.bin', 11 * MiB)
      await signIn(ctx, ctx.context, 'alice')
      const page = await ctx.context.newPage()
      const partPuts = []
      page.on('request', (req) => { if (isPartPut(req)) partPuts.push(partNumber(req)) })
      await uppyTestPage(ctx, page, `{
        shouldUseMultipart: true,
        getChunkSize: () => 5 * 1024 * 1024,
        async signRequest(request) {
          const res = await fetch('/v1/sign-request', {
            method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(request),
          })
          if (!res.ok) throw new Error('sign-request: HTTP ' + res.status + ' ' + await res.text())
          return res.json()
        },
      }`)
      const r = await uppyUpload(page, file)
      assert.deepEqual(r.failed, [])
      assert.equal(r.successful.length, 1)
      assert.deepEqual([...partPuts].sort(), [1, 2, 3], 'multipart: three parts')
      await assertStored(ctx, r.successful[0].key, file)
    },
  },
  {
    name: 'another-user-can-neither-complete-nor-abort',
    async run(ctx) {
      const file = makeFile(ctx.dir, 'alices.bin', 6 * MiB)   // parts of 5 MiB and 1 MiB
      const alice = ctx.context
      const bob = await ctx.browser.newContext({ ignoreHTTPSErrors: true })
      try {
        await signIn(ctx, alice, 'alice')
        await signIn(ctx, bob, 'bob')
        const api = async (context, body) => {
          const r = await context.request.post(ctx.service.origin + API, { data: body, failOnStatusCode: false })
          return { status: r.status(), body: await r.json().catch(() => ({})) }
        }
        const start = await api(alice, { action: 'start', fileName: file.name, fileSize: file.bytes.length })
        assert.equal(start.status, 200, JSON.stringify(start.body))
        const { uploadId, s3Key, uploadToken, presignedUrls } = start.body
        const urls = presignedUrls.map((p) => (typeof p === 'string' ? p : p.url))
        const parts = []
        for (const [i, url] of urls.entries()) {
          const r = await alice.request.put(url, { data: file.bytes.subarray(i * 5 * MiB, (i + 1) * 5 * MiB) })
          assert.equal(r.status(), 200, `part ${i + 1}: ${await r.text()}`)
          parts.push({ PartNumber: i + 1, ETag: r.headers().etag })
        }
        // Bob, with everything alice's browser knows (her upload token too):
        const refusals = {
          'complete (JSON API, with her upload token)': await api(bob, { action: 'complete', uploadId, s3Key, uploadToken, parts }),
          'abort (JSON API, with her upload token)': await api(bob, { action: 'abort', uploadId, s3Key, uploadToken }),
          'complete (JSON API, by key prefix)': await api(bob, { action: 'complete', uploadId, s3Key, parts }),
          'abort (JSON API, by key prefix)': await api(bob, { action: 'abort', uploadId, s3Key }),
        }
        const q = `?key=${encodeURIComponent(s3Key)}`
        const companion = async (method, path, data) => {
          const r = await bob.request.fetch(`${ctx.service.origin}/s3/multipart/${encodeURIComponent(uploadId)}${path}${q}`, { method, data, failOnStatusCode: false })
          return { status: r.status(), body: await r.json().catch(() => ({})) }
        }
        refusals['complete (/s3)'] = await companion('POST', '/complete', { parts })
        refusals['abort (/s3)'] = await companion('DELETE', '')
        const sign = async (request) => {
          const r = await bob.request.post(`${ctx.service.origin}/v1/sign-request`, { data: request, failOnStatusCode: false })
          return { status: r.status(), body: await r.json().catch(() => ({})) }
        }
        refusals['complete (/v1/sign-request)'] = await sign({ method: 'POST', key: s3Key, uploadId })
        refusals['abort (/v1/sign-request)'] = await sign({ method: 'DELETE', key: s3Key, uploadId })
        for (const [what, r] of Object.entries(refusals))
          assert.equal(r.status, 403, `bob's ${what}: ${JSON.stringify(r.body)}`)
        // Alice's upload is intact: she completes it, byte for byte.
        const done = await api(alice, { action: 'complete', uploadId, s3Key, uploadToken, parts })
        assert.equal(done.status, 200, JSON.stringify(done.body))
        await assertStored(ctx, s3Key, file)
      } finally {
        await bob.close()
      }
    },
  },
]
